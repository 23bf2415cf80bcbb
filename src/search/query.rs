//! Turning the words of `q` into safe SQL: an FTS5 MATCH expression for words of three or more
//! characters (the trigram index finds them as substrings), LIKE patterns for shorter ones.
//! Nothing the user types is ever FTS syntax: each word becomes a quoted phrase.

/// The words of a query, split on white space; at most `MAX_TERMS`, each at most
/// `MAX_TERM_CHARS` characters.
pub const MAX_TERMS: usize = 16;
pub const MAX_TERM_CHARS: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextQuery {
    /// `"word" AND "other"` for the trigram index, if any word is long enough.
    pub fts_match: Option<String>,
    /// `%wo%` patterns (escaped with `\`) for words of one or two characters.
    pub like_patterns: Vec<String>,
}

impl TextQuery {
    pub fn parse(q: &str) -> Self {
        let mut phrases = Vec::new();
        let mut like_patterns = Vec::new();
        for word in q.split_whitespace().take(MAX_TERMS) {
            let word: String = word.chars().take(MAX_TERM_CHARS).collect();
            if word.chars().count() >= 3 {
                phrases.push(format!("\"{}\"", word.replace('"', "\"\"")));
            } else {
                like_patterns.push(format!("%{}%", escape_like(&word)));
            }
        }
        TextQuery {
            fts_match: (!phrases.is_empty()).then(|| phrases.join(" AND ")),
            like_patterns,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fts_match.is_none() && self.like_patterns.is_empty()
    }
}

/// Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'`.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_words_become_quoted_phrases() {
        let q = TextQuery::parse(r#"  beach "sun set" NEAR( * "#);
        assert_eq!(
            q.fts_match.as_deref(),
            Some(r#""beach" AND """sun" AND "set""" AND "NEAR(""#)
        );
        assert_eq!(q.like_patterns, ["%*%"]);
    }

    #[test]
    fn short_words_use_escaped_like_patterns() {
        let q = TextQuery::parse("猫 % a_ -");
        assert_eq!(q.fts_match, None);
        assert_eq!(q.like_patterns, ["%猫%", "%\\%%", "%a\\_%", "%-%"]);
        assert!(TextQuery::parse("   ").is_empty());
    }

    #[test]
    fn chinese_words_of_three_characters_use_the_index() {
        let q = TextQuery::parse("长城上");
        assert_eq!(q.fts_match.as_deref(), Some("\"长城上\""));
    }
}

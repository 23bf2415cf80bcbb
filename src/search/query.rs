//! Turning the words of `q` into safe SQL: an FTS5 MATCH expression for words of three or more
//! characters (the trigram index finds them as substrings) and for shorter words of non-ASCII
//! characters (through the `grams` column, see `db::grams`); LIKE patterns for the rest (one or
//! two ASCII characters, which the index cannot find). Nothing the user types is ever FTS
//! syntax: each word becomes a quoted phrase.

/// The words of a query, split on white space and control characters; at most `MAX_TERMS`, each at most
/// `MAX_TERM_CHARS` characters.
pub const MAX_TERMS: usize = 16;
pub const MAX_TERM_CHARS: usize = 100;

use crate::db::grams::is_gram_char;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextQuery {
    /// `body : "word" AND grams : "|词|"` for the index, if any word can use it.
    pub fts_match: Option<String>,
    /// `%wo%` patterns (escaped with `\`) for words of one or two ASCII characters.
    pub like_patterns: Vec<String>,
}

fn phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

impl TextQuery {
    pub fn parse(q: &str) -> Self {
        let mut phrases = Vec::new();
        let mut like_patterns = Vec::new();
        // Control characters separate words like spaces: a NUL inside an FTS5 string would end
        // it early (an "unterminated string"), and no title or tag holds one.
        let words = q
            .split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|w| !w.is_empty());
        for word in words.take(MAX_TERMS) {
            let word: String = word.chars().take(MAX_TERM_CHARS).collect();
            if word.chars().count() >= 3 {
                phrases.push(format!("body : {}", phrase(&word)));
            } else if word.chars().all(is_gram_char) {
                phrases.push(format!(
                    "grams : {}",
                    phrase(&format!("|{}|", word.to_lowercase()))
                ));
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
            Some(r#"body : "beach" AND body : """sun" AND body : "set""" AND body : "NEAR(""#)
        );
        assert_eq!(q.like_patterns, ["%*%"]);
    }

    #[test]
    fn short_ascii_words_use_escaped_like_patterns() {
        let q = TextQuery::parse("% a_ -");
        assert_eq!(q.fts_match, None);
        assert_eq!(q.like_patterns, ["%\\%%", "%a\\_%", "%-%"]);
        assert!(TextQuery::parse("   ").is_empty());
    }

    #[test]
    fn control_characters_separate_words() {
        let q = TextQuery::parse("ab\0cd\u{1}efg\u{7f}hi\u{9f}");
        assert_eq!(q.fts_match.as_deref(), Some(r#"body : "efg""#));
        assert_eq!(q.like_patterns, ["%ab%", "%cd%", "%hi%"]);
        assert!(TextQuery::parse("\0\u{1f}").is_empty());
    }

    #[test]
    fn chinese_words_of_any_length_use_the_index() {
        let q = TextQuery::parse("长城上 日落 猫 Éa");
        assert_eq!(
            q.fts_match.as_deref(),
            Some(r#"body : "长城上" AND grams : "|日落|" AND grams : "|猫|""#)
        );
        assert_eq!(q.like_patterns, ["%Éa%"]);
    }
}

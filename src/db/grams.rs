//! Grams of short non-Latin search words. The trigram index cannot find words under three
//! characters, and Chinese words are mostly two. For every run of non-ASCII characters this
//! lists each character and each pair, wrapped in `|` so that a gram is itself a trigram phrase
//! (`|长城|`, `|城|`). Search fills them in (`search::repo::refresh_stale`); the SQL function
//! `photox_grams()` is registered only while migrations run, because V4 and V5 call it.

use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;

/// `|a| |b| |ab| ...` for the non-ASCII runs of `text`, lower-cased, each gram once.
pub fn short_grams(text: &str) -> String {
    let lower = text.to_lowercase();
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    let mut push = |gram: &str, out: &mut String| {
        if seen.insert(gram.to_string()) {
            out.push('|');
            out.push_str(gram);
            out.push_str("| ");
        }
    };
    let chars: Vec<char> = lower.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if !is_gram_char(*c) {
            continue;
        }
        push(c.encode_utf8(&mut [0; 4]), &mut out);
        if let Some(next) = chars.get(i + 1).filter(|n| is_gram_char(**n)) {
            push(&format!("{c}{next}"), &mut out);
        }
    }
    out
}

/// Characters that get grams: beyond ASCII, not white space.
pub fn is_gram_char(c: char) -> bool {
    !c.is_ascii() && !c.is_whitespace()
}

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "photox_grams",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text: Option<String> = ctx.get(0)?;
            Ok(short_grams(text.as_deref().unwrap_or("")))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams_cover_every_character_and_pair_of_non_ascii_runs() {
        assert_eq!(
            short_grams("长城 Beach 日落"),
            "|长| |长城| |城| |日| |日落| |落| "
        );
        assert_eq!(short_grams("Éa"), "|é| ");
        assert_eq!(short_grams("plain ascii"), "");
        assert_eq!(short_grams("猫猫"), "|猫| |猫猫| ");
    }
}

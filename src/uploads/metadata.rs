//! `Upload-Metadata` (tus 1.0.0): comma-separated pairs `key value`, the value base64-encoded
//! (a key may come without one), keys unique. Photox reads `filename` (alias `name`, as Uppy
//! sends it), `filetype` (alias `type`; informational only, the format is decided by the
//! bytes), `title`, `description`, `album_id` and `visibility`; other keys are ignored (and
//! echoed by `HEAD` with the rest of the header). Everything is checked when the upload is
//! created, so a bad value is refused then, not at the last byte.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use super::UploadError;
use crate::catalog::Visibility;
use crate::db::ids::AlbumId;

/// Longest `Upload-Metadata` header accepted.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
/// Most characters of a title and a description: those of `POST /photos`.
pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
/// Longer file names are cut to this many characters (as `POST /photos` does).
const MAX_FILENAME_CHARS: usize = 255;

/// Standard base64, with or without padding (clients differ).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What Photox reads from an upload's metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadMeta {
    pub filename: Option<String>,
    pub filetype: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub album_id: Option<AlbumId>,
    pub visibility: Option<Visibility>,
}

fn invalid(field: &str, message: &str, code: &'static str) -> UploadError {
    UploadError::InvalidMetadata {
        field: field.to_string(),
        message: message.to_string(),
        code,
    }
}

/// Decodes and checks an `Upload-Metadata` header.
pub fn parse(header: &str) -> Result<UploadMeta, UploadError> {
    if header.len() > MAX_METADATA_BYTES {
        return Err(invalid(
            "Upload-Metadata",
            &format!("must be at most {MAX_METADATA_BYTES} bytes"),
            "TOO_LONG",
        ));
    }
    let mut meta = UploadMeta::default();
    let mut seen: Vec<&str> = Vec::new();
    for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = pair.split(' ').filter(|w| !w.is_empty());
        let key = words.next().unwrap_or_default();
        let value = words.next();
        if words.next().is_some() {
            return Err(invalid(
                key,
                "must be a key and one base64 value",
                "INVALID_FORMAT",
            ));
        }
        if seen.contains(&key) {
            return Err(invalid(key, "is given twice", "DUPLICATE"));
        }
        seen.push(key);
        let bytes = match value {
            Some(v) => BASE64
                .decode(v)
                .map_err(|_| invalid(key, "is not valid base64", "INVALID_BASE64"))?,
            None => Vec::new(),
        };
        apply(&mut meta, key, bytes)?;
    }
    Ok(meta)
}

fn apply(meta: &mut UploadMeta, key: &str, bytes: Vec<u8>) -> Result<(), UploadError> {
    let known = [
        "filename",
        "name",
        "filetype",
        "type",
        "title",
        "description",
        "album_id",
        "visibility",
    ];
    if !known.contains(&key) {
        return Ok(());
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| invalid(key, "is not UTF-8 text", "INVALID_FORMAT"))?;
    let limit = match key {
        "title" => MAX_TITLE_CHARS,
        "description" => MAX_DESCRIPTION_CHARS,
        _ => usize::MAX,
    };
    if text.chars().count() > limit {
        return Err(invalid(
            key,
            &format!("must be at most {limit} characters"),
            "TOO_LONG",
        ));
    }
    let blank_to_none = |t: &str| {
        let t = t.trim();
        (!t.is_empty()).then(|| t.to_string())
    };
    match key {
        // `filename` wins over Uppy's `name` whatever the order.
        "filename" => meta.filename = filename(&text),
        "name" if meta.filename.is_none() => meta.filename = filename(&text),
        "filetype" | "type" => meta.filetype = blank_to_none(&text),
        "title" => meta.title = blank_to_none(&text),
        "description" => meta.description = blank_to_none(&text),
        "album_id" => {
            let id = text
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| invalid(key, "must be a positive integer", "INVALID_FORMAT"))?;
            meta.album_id = Some(AlbumId(id));
        }
        "visibility" => {
            meta.visibility = Some(Visibility::parse(text.trim()).ok_or_else(|| {
                invalid(key, "must be private, family or public", "INVALID_VALUE")
            })?)
        }
        _ => {}
    }
    Ok(())
}

fn filename(text: &str) -> Option<String> {
    let name: String = text.trim().chars().take(MAX_FILENAME_CHARS).collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn known_keys_are_decoded_and_others_ignored() {
        let header = format!(
            "filename {},filetype {}, title {},description {},album_id {},visibility {},is_confidential,other {}",
            b64("Strand.jpg"),
            b64("image/jpeg"),
            b64(" Beach "),
            b64("Nordsee, 2019"),
            b64("7"),
            b64("family"),
            b64("x"),
        );
        let meta = parse(&header).unwrap();
        assert_eq!(
            meta,
            UploadMeta {
                filename: Some("Strand.jpg".into()),
                filetype: Some("image/jpeg".into()),
                title: Some("Beach".into()),
                description: Some("Nordsee, 2019".into()),
                album_id: Some(AlbumId(7)),
                visibility: Some(Visibility::Family),
            }
        );
        assert_eq!(parse("").unwrap(), UploadMeta::default());
    }

    #[test]
    fn unpadded_base64_and_uppy_names_are_accepted() {
        let meta = parse("name YS5qcGc,type aW1hZ2UvanBlZw").unwrap();
        assert_eq!(meta.filename.as_deref(), Some("a.jpg"));
        assert_eq!(meta.filetype.as_deref(), Some("image/jpeg"));
        let both = format!("name {},filename {}", b64("uppy.jpg"), b64("real.jpg"));
        assert_eq!(parse(&both).unwrap().filename.as_deref(), Some("real.jpg"));
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("title ***".to_string(), "title", "INVALID_BASE64"),
            (
                format!("title {}", b64(&"x".repeat(201))),
                "title",
                "TOO_LONG",
            ),
            (
                format!("album_id {}", b64("seven")),
                "album_id",
                "INVALID_FORMAT",
            ),
            (
                format!("album_id {}", b64("0")),
                "album_id",
                "INVALID_FORMAT",
            ),
            (
                format!("visibility {}", b64("secret")),
                "visibility",
                "INVALID_VALUE",
            ),
            ("title //8=".to_string(), "title", "INVALID_FORMAT"),
            (
                format!("title {} {}", b64("a"), b64("b")),
                "title",
                "INVALID_FORMAT",
            ),
            (
                format!("title {0},title {0}", b64("a")),
                "title",
                "DUPLICATE",
            ),
        ];
        for (header, field, code) in cases {
            match parse(&header) {
                Err(UploadError::InvalidMetadata {
                    field: f, code: c, ..
                }) => assert_eq!((f.as_str(), c), (field, code), "{header}"),
                other => panic!("{header}: {other:?}"),
            }
        }
    }

    #[test]
    fn long_file_names_are_cut_and_blank_ones_dropped() {
        let meta = parse(&format!("filename {}", b64(&"é".repeat(300)))).unwrap();
        assert_eq!(meta.filename.unwrap().chars().count(), 255);
        assert_eq!(
            parse(&format!("filename {}", b64("  "))).unwrap().filename,
            None
        );
    }
}

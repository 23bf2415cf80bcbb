//! EXIF metadata of an original: camera, exposure, capture time and location.
//!
//! The metadata of an upload is untrusted input. Parsing is bounded (a JPEG's EXIF segment is at
//! most 64 KB; other containers at most the file), never panics, and keeps whatever fields are
//! readable: a broken field is dropped, not the whole record.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use exif::{DateTime, Exif, Field, In, Reader, Tag, Value};

use super::MediaError;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifData {
    pub camera_make: Option<String>,
    pub camera_model: Option<String>,
    pub lens: Option<String>,
    pub iso: Option<u32>,
    /// f-number, e.g. 2.8.
    pub aperture: Option<f64>,
    /// As photographers write it: "1/250", or seconds such as "2" and "0.5".
    pub exposure_time: Option<String>,
    /// Millimetres.
    pub focal_length: Option<f64>,
    /// 1..=8.
    pub orientation: Option<u16>,
    /// DateTimeOriginal as Unix seconds (UTC). Its OffsetTimeOriginal is applied when present;
    /// otherwise the naive time is taken as UTC.
    pub taken_at: Option<i64>,
    /// Signed decimal degrees, south negative.
    pub latitude: Option<f64>,
    /// Signed decimal degrees, west negative.
    pub longitude: Option<f64>,
    /// Metres, negative below sea level.
    pub altitude: Option<f64>,
}

impl ExifData {
    pub fn is_empty(&self) -> bool {
        *self == ExifData::default()
    }
}

/// Reads EXIF from the start of an image file (JPEG APP1, PNG eXIf, WebP EXIF chunk).
///
/// `Ok(None)` when the file is not an image, carries no EXIF, or its EXIF is unreadable or holds
/// none of the fields above. Only failing to open or read the file is an error (`Corrupt`).
pub fn read_exif(path: &Path) -> Result<Option<ExifData>, MediaError> {
    let file = File::open(path).map_err(read_failure)?;
    let mut reader = BufReader::new(file);
    let is_jpeg = reader
        .fill_buf()
        .map_err(read_failure)?
        .starts_with(&[0xFF, 0xD8]);
    // JPEG: only the header segments are read. Other containers: kamadak-exif finds the chunk.
    let jpeg_segment = if is_jpeg {
        let Some(tiff) = jpeg_exif_segment(&mut reader)? else {
            return Ok(None);
        };
        Some(tiff)
    } else {
        None
    };
    // Continue past broken fields and keep what parses. kamadak-exif bounds-checks every offset
    // and count; the unwind guard is a second line of defence so that a parser bug on hostile
    // input costs the metadata, not the worker.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let mut exif_reader = Reader::new();
        exif_reader.continue_on_error(true);
        let exif = match jpeg_segment {
            Some(tiff) => exif_reader.read_raw(tiff),
            None => exif_reader.read_from_container(&mut reader),
        };
        let exif = match exif {
            Ok(exif) => exif,
            Err(exif::Error::PartialResult(partial)) => partial.into_inner().0,
            Err(_) => return None,
        };
        Some(fields(&exif))
    }));
    Ok(parsed.ok().flatten().filter(|d| !d.is_empty()))
}

/// The TIFF payload of the first APP1 "Exif" segment before the image data, if any. Reads only
/// the header segments (each at most 64 KB), not the image data.
fn jpeg_exif_segment(reader: &mut impl Read) -> Result<Option<Vec<u8>>, MediaError> {
    let mut soi = [0u8; 2];
    if read_fully(reader, &mut soi)?.is_none() {
        return Ok(None);
    }
    loop {
        let mut marker = [0u8; 2];
        if read_fully(reader, &mut marker)?.is_none() || marker[0] != 0xFF {
            return Ok(None);
        }
        match marker[1] {
            // Fill bytes and stand-alone markers carry no length.
            0xFF => continue,
            0x01 | 0xD0..=0xD7 => continue,
            // Start of scan or end of image: no EXIF ahead of the image data.
            0xDA | 0xD9 => return Ok(None),
            _ => {}
        }
        let mut len = [0u8; 2];
        if read_fully(reader, &mut len)?.is_none() {
            return Ok(None);
        }
        let Some(len) = usize::from(u16::from_be_bytes(len)).checked_sub(2) else {
            return Ok(None);
        };
        let mut segment = vec![0u8; len];
        if read_fully(reader, &mut segment)?.is_none() {
            return Ok(None);
        }
        if marker[1] == 0xE1 && segment.starts_with(b"Exif\0\0") {
            segment.drain(..6);
            return Ok(Some(segment));
        }
    }
}

/// `MediaError` has no I/O variant: a file that cannot be opened or read is `Corrupt`.
fn read_failure(error: std::io::Error) -> MediaError {
    MediaError::Io(error.kind())
}

/// `read_exact` that reports a short file as `None` rather than an error.
fn read_fully(reader: &mut impl Read, buf: &mut [u8]) -> Result<Option<()>, MediaError> {
    match reader.read_exact(buf) {
        Ok(()) => Ok(Some(())),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(read_failure(e)),
    }
}

/// The fields of the primary image (IFD0 and its Exif and GPS IFDs).
fn fields(exif: &Exif) -> ExifData {
    let field = |tag| exif.get_field(tag, In::PRIMARY);
    let (latitude, longitude) = match (
        field(Tag::GPSLatitude).and_then(|f| coordinate(f, field(Tag::GPSLatitudeRef), b'S', 90.0)),
        field(Tag::GPSLongitude)
            .and_then(|f| coordinate(f, field(Tag::GPSLongitudeRef), b'W', 180.0)),
    ) {
        (Some(lat), Some(lon)) => (Some(lat), Some(lon)),
        _ => (None, None),
    };
    ExifData {
        camera_make: field(Tag::Make).and_then(text),
        camera_model: field(Tag::Model).and_then(text),
        lens: field(Tag::LensModel).and_then(text),
        iso: iso(field(Tag::PhotographicSensitivity), field(Tag::ISOSpeed)),
        aperture: field(Tag::FNumber)
            .and_then(|f| number(f, 0))
            .or_else(|| {
                // APEX aperture value: N = 2^(Av/2).
                let av = number(field(Tag::ApertureValue)?, 0)?;
                Some((2f64.powf(av / 2.0) * 10.0).round() / 10.0)
            })
            .filter(|n| *n > 0.0 && *n < 1000.0),
        exposure_time: field(Tag::ExposureTime)
            .and_then(|f| number(f, 0))
            .or_else(|| Some(2f64.powf(-number(field(Tag::ShutterSpeedValue)?, 0)?)))
            .and_then(exposure_text),
        focal_length: field(Tag::FocalLength)
            .and_then(|f| number(f, 0))
            .filter(|mm| *mm > 0.0 && *mm < 100_000.0),
        orientation: field(Tag::Orientation)
            .and_then(|f| f.value.get_uint(0))
            .filter(|o| (1..=8).contains(o))
            .map(|o| o as u16),
        taken_at: field(Tag::DateTimeOriginal)
            .and_then(|f| taken_at(f, field(Tag::OffsetTimeOriginal))),
        latitude,
        longitude,
        altitude: field(Tag::GPSAltitude).and_then(|f| altitude(f, field(Tag::GPSAltitudeRef))),
    }
}

/// The first non-empty string of an ASCII field, trimmed of NUL padding and whitespace.
/// Strings that are not UTF-8 are dropped.
fn text(field: &Field) -> Option<String> {
    let Value::Ascii(ref strings) = field.value else {
        return None;
    };
    strings.iter().find_map(|bytes| {
        let s = std::str::from_utf8(bytes).ok()?;
        let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        (!s.is_empty()).then(|| s.to_owned())
    })
}

/// The `index`th value of a numeric field as a finite f64 (rationals with a zero denominator
/// are absent).
fn number(field: &Field, index: usize) -> Option<f64> {
    let n = match field.value {
        Value::Rational(ref v) => v.get(index).filter(|r| r.denom != 0).map(|r| r.to_f64()),
        Value::SRational(ref v) => v.get(index).filter(|r| r.denom != 0).map(|r| r.to_f64()),
        Value::Float(ref v) => v.get(index).map(|&f| f64::from(f)),
        Value::Double(ref v) => v.get(index).copied(),
        _ => field.value.get_uint(index).map(f64::from),
    }?;
    n.is_finite().then_some(n)
}

fn first_letter(field: Option<&Field>) -> Option<u8> {
    match field?.value {
        Value::Ascii(ref strings) => strings.first()?.first().copied(),
        _ => None,
    }
}

/// Degrees, minutes, seconds and a hemisphere reference to signed decimal degrees.
/// A missing reference counts as north/east; an unknown one drops the coordinate.
fn coordinate(field: &Field, reference: Option<&Field>, negative: u8, limit: f64) -> Option<f64> {
    let degrees = number(field, 0)?;
    let minutes = number(field, 1).unwrap_or(0.0);
    let seconds = number(field, 2).unwrap_or(0.0);
    if degrees < 0.0 || !(0.0..60.0).contains(&minutes) || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    let value = degrees + minutes / 60.0 + seconds / 3600.0;
    let sign = match first_letter(reference).map(|c| c.to_ascii_uppercase()) {
        None => 1.0,
        Some(c) if c == negative => -1.0,
        Some(b'N' | b'E') => 1.0,
        Some(_) => return None,
    };
    (value <= limit).then_some(sign * value)
}

fn altitude(field: &Field, reference: Option<&Field>) -> Option<f64> {
    let metres = number(field, 0)?;
    let below_sea_level = reference.and_then(|r| r.value.get_uint(0)) == Some(1);
    let metres = if below_sea_level { -metres } else { metres };
    // From the deepest trench to well above any balloon; anything else is a broken writer.
    (-12_000.0..=100_000.0).contains(&metres).then_some(metres)
}

/// ISO speed; cameras write 65535 to the 16-bit tag when the real value is in ISOSpeed.
fn iso(sensitivity: Option<&Field>, iso_speed: Option<&Field>) -> Option<u32> {
    let first = sensitivity.and_then(|f| f.value.get_uint(0));
    let extended = iso_speed.and_then(|f| f.value.get_uint(0));
    match (first, extended) {
        (Some(65535), Some(v)) | (None, Some(v)) => Some(v),
        (Some(v), _) => Some(v),
        (None, None) => None,
    }
    .filter(|v| *v > 0)
}

/// Exposure in seconds as photographers write it: "1/250" below a quarter second,
/// otherwise seconds with at most one decimal ("0.5", "2", "2.5").
fn exposure_text(seconds: f64) -> Option<String> {
    if !(seconds > 0.0 && seconds < 1_000_000.0) {
        return None;
    }
    if seconds < 0.25001 {
        return Some(format!("1/{}", (1.0 / seconds).round() as u64));
    }
    let tenths = (seconds * 10.0).round() as u64;
    Some(if tenths.is_multiple_of(10) {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    })
}

fn taken_at(original: &Field, offset: Option<&Field>) -> Option<i64> {
    let Value::Ascii(ref strings) = original.value else {
        return None;
    };
    let mut dt = DateTime::from_ascii(strings.first()?).ok()?;
    if let Some(Value::Ascii(strings)) = offset.map(|f| &f.value) {
        if let Some(s) = strings.first() {
            // An unreadable offset leaves the naive time as UTC.
            if dt.parse_offset(s).is_err() {
                dt.offset = None;
            }
        }
    }
    let naive =
        chrono::NaiveDate::from_ymd_opt(i32::from(dt.year), dt.month.into(), dt.day.into())?
            .and_hms_opt(dt.hour.into(), dt.minute.into(), dt.second.into())?;
    let offset_minutes = dt.offset.filter(|m| m.abs() <= 18 * 60).unwrap_or(0);
    Some(naive.and_utc().timestamp() - i64::from(offset_minutes) * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    fn assert_close(actual: Option<f64>, expected: f64) {
        let actual = actual.expect("value present");
        assert!((actual - expected).abs() < 1e-6, "{actual} != {expected}");
    }

    #[test]
    fn orientation6_fixture_gives_every_field() {
        let exif = read_exif(&fixture("exif_orientation6_gps.jpg"))
            .unwrap()
            .unwrap();
        assert_eq!(exif.camera_make.as_deref(), Some("Canon"));
        assert_eq!(exif.camera_model.as_deref(), Some("Canon EOS R5"));
        assert_eq!(exif.lens.as_deref(), Some("RF24-105mm F4 L IS USM"));
        assert_eq!(exif.iso, Some(400));
        assert_eq!(exif.aperture, Some(2.8));
        assert_eq!(exif.exposure_time.as_deref(), Some("1/250"));
        assert_eq!(exif.focal_length, Some(50.0));
        assert_eq!(exif.orientation, Some(6));
        // 2023-07-14 16:30:05 at -03:00 is 19:30:05 UTC.
        assert_eq!(exif.taken_at, Some(1_689_363_005));
        assert_close(exif.latitude, -(22.0 + 57.0 / 60.0 + 7.68 / 3600.0));
        assert_close(exif.longitude, -(43.0 + 12.0 / 60.0 + 39.6 / 3600.0));
        assert_close(exif.altitude, 704.5);
    }

    #[test]
    fn naive_capture_time_is_taken_as_utc() {
        let exif = read_exif(&fixture("exif_no_offset.jpg")).unwrap().unwrap();
        // 2021-12-31 23:59:59 UTC.
        assert_eq!(exif.taken_at, Some(1_640_995_199));
        assert_eq!(exif.camera_make.as_deref(), Some("NIKON CORPORATION"));
        assert_eq!(exif.exposure_time.as_deref(), Some("2"));
        assert_eq!(exif.aperture, Some(8.0));
        assert_eq!(exif.focal_length, Some(24.5));
        assert_eq!(exif.orientation, Some(1));
        assert_eq!(exif.lens, None);
        assert_close(exif.latitude, 31.5);
        assert_close(exif.longitude, 35.5);
        assert_close(exif.altitude, -430.5);
    }

    #[test]
    fn png_and_webp_exif_chunks_are_read() {
        for name in ["exif_in_png.png", "exif_in_webp.webp"] {
            let exif = read_exif(&fixture(name)).unwrap().unwrap();
            assert_eq!(exif.camera_make.as_deref(), Some("Google"), "{name}");
            assert_eq!(exif.camera_model.as_deref(), Some("Pixel 8"), "{name}");
            assert_eq!(exif.orientation, Some(3), "{name}");
            assert_eq!(exif.iso, Some(50), "{name}");
        }
    }

    #[test]
    fn broken_exif_gives_partial_data_without_panicking() {
        // The readable Make survives; the non-UTF-8 Model, the out-of-range orientation, the
        // absurd count and the out-of-range IFD pointers are dropped.
        let exif = read_exif(&fixture("broken_exif_offsets.jpg")).unwrap();
        let expected = ExifData {
            camera_make: Some("Canon".to_owned()),
            ..ExifData::default()
        };
        assert_eq!(exif, Some(expected));
    }

    #[test]
    fn files_without_exif_give_none() {
        for name in [
            "plain_no_exif.jpg",
            "plain.png",
            "alpha.png",
            "photo.webp",
            "two_frames.gif",
            "truncated.jpg",
            "truncated.png",
            "not_an_image.jpg",
            "empty.jpg",
            "bomb_40000.png",
        ] {
            assert_eq!(read_exif(&fixture(name)), Ok(None), "{name}");
        }
    }

    #[test]
    fn missing_file_is_an_error() {
        assert_eq!(
            read_exif(&fixture("no_such_file.jpg")),
            Err(MediaError::Io(std::io::ErrorKind::NotFound))
        );
    }

    #[test]
    fn hostile_segments_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let original = std::fs::read(fixture("exif_orientation6_gps.jpg")).unwrap();
        // Every truncation of the header area, and every single-byte corruption of the EXIF
        // segment, must parse to something or nothing without panicking.
        let path = dir.path().join("x.jpg");
        for cut in (0..600).step_by(7) {
            std::fs::write(&path, &original[..cut]).unwrap();
            read_exif(&path).unwrap();
        }
        for at in (4..600).step_by(3) {
            let mut bytes = original.clone();
            bytes[at] ^= 0xA5;
            std::fs::write(&path, &bytes).unwrap();
            read_exif(&path).unwrap();
        }
    }

    #[test]
    fn exposure_is_written_like_photographers_do() {
        assert_eq!(exposure_text(1.0 / 250.0).as_deref(), Some("1/250"));
        assert_eq!(exposure_text(10.0 / 2500.0).as_deref(), Some("1/250"));
        assert_eq!(exposure_text(0.25).as_deref(), Some("1/4"));
        assert_eq!(exposure_text(0.5).as_deref(), Some("0.5"));
        assert_eq!(exposure_text(2.0).as_deref(), Some("2"));
        assert_eq!(exposure_text(2.5).as_deref(), Some("2.5"));
        assert_eq!(exposure_text(0.0), None);
        assert_eq!(exposure_text(f64::NAN), None);
    }
}

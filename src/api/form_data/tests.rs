use super::*;

const B: &str = "XyZ-boundary";

type Parsed = Vec<(PartHeaders, Vec<u8>)>;

fn stream(frames: Vec<Vec<u8>>) -> BodyStream {
    Box::pin(futures_util::stream::iter(
        frames.into_iter().map(|f| Ok(Bytes::from(f))),
    ))
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

async fn read_all(mut form: FormData) -> Result<Parsed, FormDataError> {
    let mut parts = Vec::new();
    while let Some(headers) = form.next_part().await? {
        let mut data = Vec::new();
        while let Some(chunk) = form.chunk().await? {
            assert!(!chunk.is_empty(), "empty chunks are never handed out");
            data.extend_from_slice(&chunk);
        }
        parts.push((headers, data));
    }
    Ok(parts)
}

fn parse_frames(frames: Vec<Vec<u8>>, boundary: &str) -> Result<Parsed, FormDataError> {
    block_on(read_all(FormData::new(stream(frames), boundary)))
}

fn parse(body: &[u8]) -> Result<Parsed, FormDataError> {
    parse_frames(vec![body.to_vec()], B)
}

fn named(name: &str) -> PartHeaders {
    PartHeaders {
        name: Some(name.into()),
        ..Default::default()
    }
}

fn file(name: &str, filename: &str, content_type: &str) -> PartHeaders {
    PartHeaders {
        name: Some(name.into()),
        filename: Some(filename.into()),
        content_type: Some(content_type.into()),
    }
}

/// A body with a text field, a file whose bytes look like pieces of the delimiter, an empty
/// file and a second text field.
fn sample() -> (Vec<u8>, Parsed) {
    let tricky: Vec<u8> = [
        &b"\x89PNG\r\n\x1a\n"[..],
        b"\r\n--XyZ-bound",
        b"\r\n-",
        b"\r\r\n\r\n--",
        b"--XyZ-boundary",
        b"\r\n--XyZ-boundar",
        &[0u8, 255, 13, 10, 13],
    ]
    .concat();
    let mut body = Vec::new();
    body.extend_from_slice(
        b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nSea at dusk\r\n",
    );
    body.extend_from_slice(b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n");
    body.extend_from_slice(&tricky);
    body.extend_from_slice(b"\r\n--XyZ-boundary\r\ncontent-disposition: form-data; name=\"files[]\"; filename=\"empty.jpg\"\r\nCONTENT-TYPE: image/jpeg\r\n\r\n");
    body.extend_from_slice(b"\r\n--XyZ-boundary\r\nContent-Disposition: form-data; name=visibility\r\n\r\npublic\r\n--XyZ-boundary--\r\n");
    let expected = vec![
        (named("title"), b"Sea at dusk".to_vec()),
        (file("file", "a.png", "image/png"), tricky),
        (file("files[]", "empty.jpg", "image/jpeg"), Vec::new()),
        (named("visibility"), b"public".to_vec()),
    ];
    (body, expected)
}

#[test]
fn reads_text_and_file_parts() {
    let (body, expected) = sample();
    assert_eq!(parse(&body).unwrap(), expected);
}

#[test]
fn a_split_at_every_offset_reads_the_same() {
    let (body, expected) = sample();
    for i in 0..=body.len() {
        let frames = vec![body[..i].to_vec(), body[i..].to_vec()];
        assert_eq!(parse_frames(frames, B).unwrap(), expected, "split at {i}");
    }
}

#[test]
fn three_way_splits_read_the_same() {
    let (body, expected) = sample();
    for i in (0..body.len()).step_by(3) {
        for j in (i..=body.len()).step_by(5) {
            let frames = vec![body[..i].to_vec(), body[i..j].to_vec(), body[j..].to_vec()];
            assert_eq!(parse_frames(frames, B).unwrap(), expected, "{i}/{j}");
        }
    }
}

#[test]
fn frames_of_every_small_size_read_the_same() {
    let (body, expected) = sample();
    for size in 1..40 {
        let frames = body.chunks(size).map(<[u8]>::to_vec).collect();
        assert_eq!(
            parse_frames(frames, B).unwrap(),
            expected,
            "frames of {size}"
        );
    }
}

#[test]
fn a_cut_short_body_is_an_error_wherever_it_ends() {
    let (body, _) = sample();
    let close = body.len() - b"--\r\n".len();
    for end in 0..close {
        let result = parse(&body[..end]);
        assert!(
            matches!(
                result,
                Err(FormDataError::Truncated | FormDataError::Malformed(_))
            ),
            "body cut at {end}: {result:?}"
        );
    }
    // Inside a file the error says the body was cut short.
    let inside = body.len() / 2;
    assert!(matches!(
        parse(&body[..inside]),
        Err(FormDataError::Truncated)
    ));
    // The closing delimiter without the final CRLF is complete.
    assert_eq!(parse(&body[..close + 2]).unwrap().len(), 4);
}

#[test]
fn preamble_and_epilogue_are_ignored() {
    let body = b"This is a preamble.\r\n--XyZ-boundary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ-boundary--\r\nand an epilogue\r\n";
    assert_eq!(parse(body).unwrap(), vec![(named("a"), b"1".to_vec())]);
    for i in 0..body.len() {
        let frames = vec![body[..i].to_vec(), body[i..].to_vec()];
        assert_eq!(parse_frames(frames, B).unwrap().len(), 1, "split at {i}");
    }
}

#[test]
fn a_body_without_any_boundary_is_malformed() {
    assert!(matches!(
        parse(b"just some bytes"),
        Err(FormDataError::Malformed(_))
    ));
    assert!(matches!(parse(b""), Err(FormDataError::Malformed(_))));
    // A boundary that is not at the start of a line does not count.
    assert!(matches!(
        parse(b"x--XyZ-boundary--\r\n"),
        Err(FormDataError::Malformed(_))
    ));
}

#[test]
fn a_body_with_only_the_closing_delimiter_has_no_parts() {
    assert_eq!(parse(b"--XyZ-boundary--").unwrap(), vec![]);
}

#[test]
fn transport_padding_after_a_boundary_is_allowed() {
    let body = b"--XyZ-boundary  \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ-boundary \r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n--XyZ-boundary--";
    let parts = parse(body).unwrap();
    assert_eq!(parts[0], (named("a"), b"1".to_vec()));
    assert_eq!(parts[1], (named("b"), b"2".to_vec()));
}

#[test]
fn text_after_a_boundary_is_malformed() {
    // The boundary followed by more characters: the client's boundary was in its data.
    let body = b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--XyZ-boundaryAB\r\n";
    assert!(matches!(parse(body), Err(FormDataError::Malformed(_))));
}

#[test]
fn bare_lf_is_not_a_line_break() {
    let body =
        b"--XyZ-boundary\nContent-Disposition: form-data; name=\"a\"\n\nx\n--XyZ-boundary--\n";
    assert!(parse(body).is_err());
}

#[test]
fn header_names_are_case_insensitive_and_folded_lines_continue() {
    let body = b"--XyZ-boundary\r\nCONTENT-disposition: form-data;\r\n name=\"photo\";\r\n\tfilename=\"b.jpg\"\r\nX-Other: 1\r\ncontent-type:image/jpeg\r\n\r\nJ\r\n--XyZ-boundary--";
    assert_eq!(
        parse(body).unwrap(),
        vec![(file("photo", "b.jpg", "image/jpeg"), b"J".to_vec())]
    );
    let orphan = b"--XyZ-boundary\r\n folded: first\r\n\r\nJ\r\n--XyZ-boundary--";
    assert!(matches!(parse(orphan), Err(FormDataError::Malformed(_))));
    let no_colon = b"--XyZ-boundary\r\nno colon here\r\n\r\nJ\r\n--XyZ-boundary--";
    assert!(matches!(parse(no_colon), Err(FormDataError::Malformed(_))));
}

#[test]
fn a_part_without_headers_has_no_name() {
    let body = b"--XyZ-boundary\r\n\r\nabc\r\n--XyZ-boundary--";
    assert_eq!(
        parse(body).unwrap(),
        vec![(PartHeaders::default(), b"abc".to_vec())]
    );
}

#[test]
fn oversized_headers_and_too_many_parts_are_refused() {
    let mut body =
        b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: ".to_vec();
    body.extend(std::iter::repeat_n(b'p', MAX_HEADER_BYTES));
    body.extend_from_slice(b"\r\n\r\nx\r\n--XyZ-boundary--");
    let frames = body.chunks(1000).map(<[u8]>::to_vec).collect();
    assert!(matches!(
        parse_frames(frames, B),
        Err(FormDataError::Malformed(_))
    ));

    let mut body = Vec::new();
    for _ in 0..=MAX_PARTS {
        body.extend_from_slice(
            b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n",
        );
    }
    body.extend_from_slice(b"--XyZ-boundary--");
    assert!(matches!(parse(&body), Err(FormDataError::Malformed(_))));
}

#[test]
fn filenames_quoted_escaped_and_extended() {
    let disposition = |value: &str| {
        let body =
            format!("--XyZ-boundary\r\nContent-Disposition: {value}\r\n\r\nx\r\n--XyZ-boundary--");
        parse(body.as_bytes()).unwrap().remove(0).0
    };
    let h = disposition(r#"form-data; name="file"; filename="say \"cheese\".jpg""#);
    assert_eq!(h.filename.as_deref(), Some(r#"say "cheese".jpg"#));
    let h = disposition(r#"form-data; name="file"; filename="C:\Photos\a;b.jpg""#);
    assert_eq!(h.filename.as_deref(), Some(r"C:\Photos\a;b.jpg"));
    assert_eq!(h.name.as_deref(), Some("file"));
    let h = disposition("form-data; name=\"file\"; filename=\"Gr\u{fc}\u{df}e \u{1f600}.png\"");
    assert_eq!(h.filename.as_deref(), Some("Gr\u{fc}\u{df}e \u{1f600}.png"));
    // RFC 5987 form wins over the plain one.
    let h = disposition(
        "form-data; name=\"file\"; filename=\"EUR rates.jpg\"; filename*=UTF-8''%e2%82%ac%20rates.jpg",
    );
    assert_eq!(h.filename.as_deref(), Some("\u{20ac} rates.jpg"));
    let h = disposition("form-data; name=file; filename*=iso-8859-1'de'%E4pfel.jpg");
    assert_eq!(h.filename.as_deref(), Some("\u{e4}pfel.jpg"));
    // An unreadable extended value falls back to the plain one.
    let h = disposition("form-data; name=file; filename=\"plain.jpg\"; filename*=koi8-r''%C1.jpg");
    assert_eq!(h.filename.as_deref(), Some("plain.jpg"));
    // Unquoted values, odd spacing and key case.
    let h = disposition("form-data ;  NAME = title ; FileName= x.gif  ");
    assert_eq!(h.name.as_deref(), Some("title"));
    assert_eq!(h.filename.as_deref(), Some("x.gif"));
    let h = disposition("form-data; name=\"\"");
    assert_eq!(h.name.as_deref(), Some(""));
    assert_eq!(h.filename, None);
}

#[test]
fn boundary_from_content_type() {
    assert_eq!(
        boundary_of("multipart/form-data; boundary=abc").as_deref(),
        Some("abc")
    );
    assert_eq!(
        boundary_of("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\"").as_deref(),
        Some("a b:c")
    );
    assert_eq!(
        boundary_of("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW")
            .as_deref(),
        Some("----WebKitFormBoundary7MA4YWxkTrZu0gW")
    );
    assert_eq!(boundary_of("multipart/form-data"), None);
    assert_eq!(boundary_of("multipart/form-data; boundary="), None);
    assert_eq!(boundary_of("multipart/form-data; boundary=\"\""), None);
    assert_eq!(boundary_of("multipart/mixed; boundary=abc"), None);
    assert_eq!(boundary_of("application/json"), None);
    let long = format!(
        "multipart/form-data; boundary={}",
        "b".repeat(MAX_BOUNDARY + 1)
    );
    assert_eq!(boundary_of(&long), None);
}

#[test]
fn a_quoted_boundary_with_spaces_reads_the_body() {
    let boundary = boundary_of("multipart/form-data; boundary=\"a b\"").unwrap();
    let body = b"--a b\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nv\r\n--a b--\r\n";
    assert_eq!(
        parse_frames(vec![body.to_vec()], &boundary).unwrap(),
        vec![(named("t"), b"v".to_vec())]
    );
}

#[test]
fn large_frames_pass_through_without_copies() {
    let head =
        b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n";
    let first: Vec<u8> = head.iter().copied().chain(vec![7u8; 100_000]).collect();
    let middle = Bytes::from(vec![8u8; 300_000]);
    let last = [&[9u8; 1000][..], b"\r\n--XyZ-boundary--\r\n"].concat();
    let middle_range = middle.as_ptr_range();
    let frames: Vec<io::Result<Bytes>> = vec![
        Ok(Bytes::from(first)),
        Ok(middle.clone()),
        Ok(Bytes::from(last)),
    ];
    let mut form = FormData::new(Box::pin(futures_util::stream::iter(frames)), B);
    block_on(async {
        form.next_part().await.unwrap().unwrap();
        let mut total = 0;
        let mut passed_through = false;
        while let Some(chunk) = form.chunk().await.unwrap() {
            total += chunk.len();
            passed_through |= chunk.len() == middle.len() && chunk.as_ptr_range() == middle_range;
        }
        assert_eq!(total, 100_000 + 300_000 + 1000);
        assert!(passed_through, "the middle frame was copied");
        assert!(form.next_part().await.unwrap().is_none());
    });
}

#[test]
fn a_delimiter_split_after_a_large_frame_is_found() {
    // The first frame ends with most of the delimiter, the second starts with the rest.
    let head = b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n";
    let data = vec![b'\r'; 5000];
    let body = [
        &head[..],
        &data,
        b"\r\n--XyZ-boundary\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n--XyZ-boundary--",
    ]
    .concat();
    let at = head.len() + data.len();
    for cut in at..at + 16 {
        let frames = vec![body[..cut].to_vec(), body[cut..].to_vec()];
        let parts = parse_frames(frames, B).unwrap();
        assert_eq!(parts[0].1, data, "cut at {cut}");
        assert_eq!(parts[1].1, b"2");
    }
}

#[test]
fn read_to_end_stops_at_its_limit_and_the_next_part_still_reads() {
    let body = b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"long\"\r\n\r\n0123456789\r\n--XyZ-boundary\r\nContent-Disposition: form-data; name=\"short\"\r\n\r\nok\r\n--XyZ-boundary--";
    let mut form = FormData::new(stream(vec![body.to_vec()]), B);
    block_on(async {
        form.next_part().await.unwrap();
        assert_eq!(form.read_to_end(5).await.unwrap(), None);
        assert_eq!(form.next_part().await.unwrap(), Some(named("short")));
        assert_eq!(form.read_to_end(5).await.unwrap(), Some(b"ok".to_vec()));
        assert_eq!(form.next_part().await.unwrap(), None);
        assert_eq!(form.next_part().await.unwrap(), None);
    });
}

#[test]
fn skipped_parts_are_drained_and_errors_stick() {
    let (body, _) = sample();
    let mut form = FormData::new(stream(vec![body]), B);
    block_on(async {
        let mut names = Vec::new();
        while let Some(h) = form.next_part().await.unwrap() {
            names.push(h.name.unwrap());
        }
        assert_eq!(names, ["title", "file", "files[]", "visibility"]);
    });
    let cut = b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc".to_vec();
    let mut form = FormData::new(stream(vec![cut]), B);
    block_on(async {
        form.next_part().await.unwrap();
        assert!(matches!(
            form.next_part().await,
            Err(FormDataError::Truncated)
        ));
        assert!(form.next_part().await.is_err());
        assert!(form.chunk().await.is_err());
    });
}

#[test]
fn a_read_error_reaches_the_part_stream_as_an_io_error() {
    use futures_util::StreamExt;
    let frames: Vec<io::Result<Bytes>> = vec![
        Ok(Bytes::from_static(
            b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc",
        )),
        Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone")),
    ];
    let mut form = FormData::new(Box::pin(futures_util::stream::iter(frames)), B);
    block_on(async {
        form.next_part().await.unwrap();
        let mut body = form.part_body();
        assert_eq!(body.next().await.unwrap().unwrap(), "abc");
        let err = body.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    });
    let frames = vec![b"--XyZ-boundary\r\n\r\nabc".to_vec()];
    let mut form = FormData::new(stream(frames), B);
    block_on(async {
        form.next_part().await.unwrap();
        let mut body = form.part_body();
        body.next().await.unwrap().unwrap();
        let err = body.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    });
}

#[test]
fn delimiter_prefix_at_end_finds_the_longest() {
    let d = b"\r\n--ab";
    assert_eq!(delimiter_prefix_at_end(b"xyz", d), 0);
    assert_eq!(delimiter_prefix_at_end(b"xyz\r", d), 1);
    assert_eq!(delimiter_prefix_at_end(b"xyz\r\n-", d), 3);
    assert_eq!(delimiter_prefix_at_end(b"\r\n--a", d), 5);
    assert_eq!(
        delimiter_prefix_at_end(b"\r\n--ab", d),
        0,
        "a whole delimiter is found, not kept"
    );
    assert_eq!(delimiter_prefix_at_end(b"", d), 0);
}

#[test]
fn random_parts_in_random_frames_read_back_exactly() {
    // xorshift: deterministic, no dependency.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let pieces: [&[u8]; 6] = [
        b"\r",
        b"\n",
        b"-",
        b"\r\n--XyZ-",
        b"\r\n--XyZ-boundar",
        b"ab",
    ];
    for round in 0..300 {
        let mut body = Vec::new();
        let mut expected = Vec::new();
        for p in 0..next(4) + 1 {
            let mut data = Vec::new();
            for _ in 0..next(40) {
                data.extend_from_slice(pieces[next(pieces.len())]);
            }
            let name = format!("p{p}");
            body.extend_from_slice(
                format!("--{B}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(&data);
            body.extend_from_slice(b"\r\n");
            expected.push((named(&name), data));
        }
        body.extend_from_slice(format!("--{B}--\r\n").as_bytes());
        let mut frames = Vec::new();
        let mut rest = &body[..];
        while !rest.is_empty() {
            let n = (next(30) + 1).min(rest.len());
            frames.push(rest[..n].to_vec());
            rest = &rest[n..];
        }
        assert_eq!(parse_frames(frames, B).unwrap(), expected, "round {round}");
    }
}

#[test]
fn delimiter_lines() {
    assert_eq!(delimiter_line(b"--"), Line::Close);
    assert_eq!(delimiter_line(b"--\r\nepilogue"), Line::Close);
    assert_eq!(delimiter_line(b"\r\nContent"), Line::NextPart(2));
    assert_eq!(delimiter_line(b" \t \r\n"), Line::NextPart(5));
    for undecided in [&b""[..], b"-", b"\r", b"  ", b" \t\r"] {
        assert_eq!(delimiter_line(undecided), Line::Undecided, "{undecided:?}");
    }
    for invalid in [&b"x"[..], b"-x", b"\rx", b"\n", b" -", b" --", b"A\r\n"] {
        assert_eq!(delimiter_line(invalid), Line::Invalid, "{invalid:?}");
    }
    let padded = vec![b' '; MAX_PADDING + 1];
    assert_eq!(delimiter_line(&padded), Line::Invalid);
}

#[test]
fn a_part_ends_only_at_a_whole_delimiter_line() {
    // The data before a bad delimiter line is never reported as a complete part.
    let body = b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc\r\n--XyZ-boundaryZ\r\n";
    for i in 0..body.len() {
        let frames = vec![body[..i].to_vec(), body[i..].to_vec()];
        let mut form = FormData::new(stream(frames), B);
        block_on(async {
            form.next_part().await.unwrap();
            let error = loop {
                match form.chunk().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("split at {i}: the part was reported complete"),
                    Err(e) => break e,
                }
            };
            assert!(matches!(error, FormDataError::Malformed(_)), "split at {i}");
        });
    }
    // A body that stops right after a delimiter does not complete the part either.
    let cut = b"--XyZ-boundary\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc\r\n--XyZ-boundary";
    let mut form = FormData::new(stream(vec![cut.to_vec()]), B);
    block_on(async {
        form.next_part().await.unwrap();
        assert_eq!(form.chunk().await.unwrap().unwrap(), "abc");
        assert!(matches!(form.chunk().await, Err(FormDataError::Truncated)));
    });
}

//! A streaming `multipart/form-data` reader (RFC 7578 over RFC 2046's multipart syntax).
//!
//! A part's body is handed on as the `Bytes` frames the HTTP layer received, cut only where a
//! delimiter is: file bytes are never copied on the way through. The delimiter is found with
//! `memchr::memmem`; when one may straddle two frames, only the few bytes at the end of the first
//! frame are held back, and they are still a slice of that frame. Memory is bounded by the
//! frames in flight, never by the size of a part.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::Stream;
use memchr::memmem;

/// Largest header block of one part.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most parts in one body.
const MAX_PARTS: usize = 1000;
/// RFC 2046 allows 1 to 70 characters; some slack for odd clients.
const MAX_BOUNDARY: usize = 200;
/// Most transport padding (spaces, tabs) after a delimiter.
const MAX_PADDING: usize = 256;

/// A request body as a stream of frames.
pub type BodyStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

#[derive(Debug, thiserror::Error)]
pub enum FormDataError {
    #[error("reading the body failed: {0}")]
    Read(#[from] io::Error),
    /// The body ended before the closing delimiter: the client went away or cut the body short.
    #[error("the body ended before its closing boundary")]
    Truncated,
    #[error("malformed multipart body: {0}")]
    Malformed(&'static str),
}

impl From<FormDataError> for io::Error {
    fn from(e: FormDataError) -> Self {
        match e {
            FormDataError::Read(e) => e,
            FormDataError::Truncated => io::Error::new(io::ErrorKind::UnexpectedEof, e),
            FormDataError::Malformed(_) => io::Error::new(io::ErrorKind::InvalidData, e),
        }
    }
}

/// What a part's headers say.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PartHeaders {
    /// `name` of `Content-Disposition`; `None` if the part has none.
    pub name: Option<String>,
    /// `filename*` (RFC 5987, decoded) if present and readable, else `filename`.
    pub filename: Option<String>,
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Just after a delimiter: `--` (the end) or transport padding and CRLF.
    AfterDelimiter,
    Headers,
    Body,
    End,
    Failed,
}

/// Reads a `multipart/form-data` body part by part.
pub struct FormData {
    body: BodyStream,
    /// `CRLF--boundary`.
    delimiter: Box<[u8]>,
    finder: memmem::Finder<'static>,
    /// Received, not yet consumed.
    buf: Bytes,
    state: State,
    parts: usize,
}

impl FormData {
    pub fn new(body: BodyStream, boundary: &str) -> Self {
        let delimiter: Box<[u8]> = [b"\r\n--", boundary.as_bytes()].concat().into();
        let finder = memmem::Finder::new(&delimiter).into_owned();
        Self {
            body,
            delimiter,
            finder,
            // The first delimiter may open the body without a line break before it.
            buf: Bytes::from_static(b"\r\n"),
            state: State::Preamble,
            parts: 0,
        }
    }

    /// Moves to the next part (skipping what is left of the current one) and returns its
    /// headers; `None` after the closing delimiter.
    pub async fn next_part(&mut self) -> Result<Option<PartHeaders>, FormDataError> {
        let result = self.advance_to_next_part().await;
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    /// The next piece of the current part's body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, FormDataError> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// The rest of the current part's body as a stream (for handing on to a writer).
    pub fn part_body(&mut self) -> PartBody<'_> {
        PartBody(self)
    }

    /// The rest of the current part's body, or `None` (the rest skipped) if it is longer than
    /// `limit` bytes.
    pub async fn read_to_end(&mut self, limit: usize) -> Result<Option<Vec<u8>>, FormDataError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            if out.len() + chunk.len() > limit {
                while self.chunk().await?.is_some() {}
                return Ok(None);
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Some(out))
    }

    async fn advance_to_next_part(&mut self) -> Result<Option<PartHeaders>, FormDataError> {
        let dlen = self.delimiter.len();
        loop {
            match self.state {
                State::Body => while self.chunk().await?.is_some() {},
                State::Preamble => {
                    if let Some(i) = self.finder.find(&self.buf) {
                        self.buf.advance(i + dlen);
                        self.state = State::AfterDelimiter;
                        continue;
                    }
                    self.buf.advance(self.buf.len().saturating_sub(dlen - 1));
                    if !self.fill().await? {
                        return Err(FormDataError::Malformed("no boundary in the body"));
                    }
                }
                State::AfterDelimiter => match delimiter_line(&self.buf) {
                    Line::Close => {
                        // The epilogue, if any, is ignored.
                        self.state = State::End;
                        self.buf = Bytes::new();
                        return Ok(None);
                    }
                    Line::NextPart(len) => {
                        self.buf.advance(len);
                        self.state = State::Headers;
                    }
                    Line::Invalid => return Err(FormDataError::Malformed("text after a boundary")),
                    Line::Undecided => {
                        if !self.fill().await? {
                            return Err(FormDataError::Truncated);
                        }
                    }
                },
                State::Headers => {
                    let end = if self.buf.starts_with(b"\r\n") {
                        Some((0, 2))
                    } else {
                        memmem::find(&self.buf, b"\r\n\r\n").map(|i| (i, i + 4))
                    };
                    let Some((block_end, body_start)) = end else {
                        if self.buf.len() > MAX_HEADER_BYTES {
                            return Err(FormDataError::Malformed("part headers too large"));
                        }
                        if !self.fill().await? {
                            return Err(FormDataError::Truncated);
                        }
                        continue;
                    };
                    if block_end > MAX_HEADER_BYTES {
                        return Err(FormDataError::Malformed("part headers too large"));
                    }
                    let headers = parse_headers(&self.buf[..block_end])?;
                    self.buf.advance(body_start);
                    self.parts += 1;
                    if self.parts > MAX_PARTS {
                        return Err(FormDataError::Malformed("too many parts"));
                    }
                    self.state = State::Body;
                    return Ok(Some(headers));
                }
                State::End => return Ok(None),
                State::Failed => return Err(FormDataError::Malformed("unreadable after an error")),
            }
        }
    }

    /// Appends the next frame to `buf` (copying only if `buf` still holds something); false at
    /// the end of the body. Used outside part bodies, where `buf` is small.
    async fn fill(&mut self) -> Result<bool, FormDataError> {
        let Some(frame) = std::future::poll_fn(|cx| self.poll_frame(cx)).await? else {
            return Ok(false);
        };
        self.buf = join(&self.buf, frame);
        Ok(true)
    }

    /// The next non-empty frame of the body.
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, FormDataError>> {
        loop {
            match ready!(self.body.as_mut().poll_next(cx)) {
                None => return Poll::Ready(Ok(None)),
                Some(Err(e)) => return Poll::Ready(Err(e.into())),
                Some(Ok(frame)) if frame.is_empty() => continue,
                Some(Ok(frame)) => return Poll::Ready(Ok(Some(frame))),
            }
        }
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, FormDataError>> {
        let result = ready!(self.poll_body_chunk(cx));
        if result.is_err() {
            self.state = State::Failed;
        }
        Poll::Ready(result)
    }

    fn poll_body_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Bytes>, FormDataError>> {
        match self.state {
            State::Body => {}
            State::Failed => {
                return Poll::Ready(Err(FormDataError::Malformed("unreadable after an error")))
            }
            _ => return Poll::Ready(Ok(None)),
        }
        let dlen = self.delimiter.len();
        loop {
            if let Some(i) = self.finder.find(&self.buf) {
                if i > 0 {
                    return Poll::Ready(Ok(Some(self.buf.split_to(i))));
                }
                // The part ends here only if a real delimiter line follows: a file is not
                // stored when the body goes on with something else or stops short.
                match delimiter_line(&self.buf[dlen..]) {
                    Line::Close | Line::NextPart(_) => {
                        self.buf.advance(dlen);
                        self.state = State::AfterDelimiter;
                        return Poll::Ready(Ok(None));
                    }
                    Line::Invalid => {
                        return Poll::Ready(Err(FormDataError::Malformed("text after a boundary")))
                    }
                    Line::Undecided => {
                        let Some(frame) = ready!(self.poll_frame(cx))? else {
                            return Poll::Ready(Err(FormDataError::Truncated));
                        };
                        self.buf = join(&self.buf, frame);
                        continue;
                    }
                }
            }
            // Everything but a tail that could begin a delimiter is part of the body.
            let keep = delimiter_prefix_at_end(&self.buf, &self.delimiter);
            if self.buf.len() > keep {
                let data = self.buf.split_to(self.buf.len() - keep);
                return Poll::Ready(Ok(Some(data)));
            }
            let Some(frame) = ready!(self.poll_frame(cx))? else {
                return Poll::Ready(Err(FormDataError::Truncated));
            };
            if self.buf.is_empty() {
                self.buf = frame;
                continue;
            }
            if frame.len() < dlen {
                // Too short to decide: join the two (both are small).
                self.buf = join(&self.buf, frame);
                continue;
            }
            // `buf` is a short tail that may begin a delimiter: does the frame complete it?
            let tail = std::mem::take(&mut self.buf);
            let straddle = (0..tail.len()).find(|&j| {
                let head = &tail[j..];
                self.delimiter.starts_with(head) && frame.starts_with(&self.delimiter[head.len()..])
            });
            match straddle {
                Some(j) => {
                    // Once per part at most: join the delimiter's pieces, then check its line.
                    self.buf = join(&tail.slice(j..), frame);
                    if j > 0 {
                        return Poll::Ready(Ok(Some(tail.slice(..j))));
                    }
                }
                None => {
                    self.buf = frame;
                    return Poll::Ready(Ok(Some(tail)));
                }
            }
        }
    }
}

/// The rest of the current part's body as a stream of frames.
pub struct PartBody<'a>(&'a mut FormData);

impl Stream for PartBody<'_> {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let form = &mut self.get_mut().0;
        Poll::Ready(
            ready!(form.poll_chunk(cx))
                .map_err(io::Error::from)
                .transpose(),
        )
    }
}

/// What follows a delimiter.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// `--`: the closing delimiter.
    Close,
    /// Transport padding and CRLF of this many bytes: another part follows.
    NextPart(usize),
    /// Too few bytes yet.
    Undecided,
    Invalid,
}

/// Reads the rest of a delimiter line (RFC 2046: `--` right after the boundary closes the
/// body; otherwise optional spaces and tabs, then CRLF).
fn delimiter_line(after: &[u8]) -> Line {
    if after.starts_with(b"--") {
        return Line::Close;
    }
    let padding = after
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    match &after[padding..] {
        [b'\r', b'\n', ..] => Line::NextPart(padding + 2),
        _ if padding > MAX_PADDING => Line::Invalid,
        [] | [b'\r'] => Line::Undecided,
        [b'-'] if padding == 0 => Line::Undecided,
        _ => Line::Invalid,
    }
}

fn join(first: &Bytes, second: Bytes) -> Bytes {
    if first.is_empty() {
        return second;
    }
    let mut joined = BytesMut::with_capacity(first.len() + second.len());
    joined.extend_from_slice(first);
    joined.extend_from_slice(&second);
    joined.freeze()
}

/// Length of the longest end of `data` that is the beginning of `delimiter` (and shorter
/// than it).
fn delimiter_prefix_at_end(data: &[u8], delimiter: &[u8]) -> usize {
    let longest = data.len().min(delimiter.len() - 1);
    (1..=longest)
        .rev()
        .find(|&k| data[data.len() - k..] == delimiter[..k])
        .unwrap_or(0)
}

/// The boundary of a `multipart/form-data` Content-Type, `None` for any other type or a
/// missing or unusable boundary.
pub fn boundary_of(content_type: &str) -> Option<String> {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = parameters(content_type)
        .into_iter()
        .find(|(k, _)| k == "boundary")?
        .1;
    let usable = !boundary.is_empty()
        && boundary.len() <= MAX_BOUNDARY
        && !boundary.bytes().any(|b| b == b'\r' || b == b'\n');
    usable.then_some(boundary)
}

/// Parses a part's header block (lines separated by CRLF, no final empty line). Header names
/// are case-insensitive; folded lines (starting with space or tab) continue the one before.
fn parse_headers(block: &[u8]) -> Result<PartHeaders, FormDataError> {
    let text = String::from_utf8_lossy(block);
    let mut lines: Vec<String> = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if line.starts_with([' ', '\t']) {
            let previous = lines
                .last_mut()
                .ok_or(FormDataError::Malformed("folded line without a header"))?;
            previous.push(' ');
            previous.push_str(line.trim());
        } else {
            lines.push(line.to_string());
        }
    }
    let mut headers = PartHeaders::default();
    for line in &lines {
        let (name, value) = line
            .split_once(':')
            .ok_or(FormDataError::Malformed("header line without a colon"))?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-disposition") {
            let params = parameters(value);
            let param = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            headers.name = param("name").cloned();
            headers.filename = param("filename*")
                .and_then(|v| decode_ext_value(v))
                .or_else(|| param("filename").cloned());
        } else if name.eq_ignore_ascii_case("content-type") {
            headers.content_type = Some(value.to_string());
        }
    }
    Ok(headers)
}

/// The `; key=value` parameters after the first item of a header value, keys lowercased.
/// Values are tokens or quoted strings; in a quoted string `\"` and `\\` are escapes and any
/// other backslash is kept (browsers send Windows paths unescaped).
fn parameters(value: &str) -> Vec<(String, String)> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = memchr::memchr(b';', bytes).unwrap_or(bytes.len());
    while i < bytes.len() {
        i += 1; // the `;`
        let key_start = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b';' {
            i += 1;
        }
        let key = value[key_start..i].trim().to_ascii_lowercase();
        if i >= bytes.len() || bytes[i] == b';' {
            continue;
        }
        i += 1; // the `=`
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        let mut raw = Vec::new();
        if bytes.get(i) == Some(&b'"') {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' && matches!(bytes.get(i + 1), Some(b'"' | b'\\')) {
                    i += 1;
                }
                raw.push(bytes[i]);
                i += 1;
            }
            // Past the closing quote, up to the next `;`.
            i = memchr::memchr(b';', &bytes[i.min(bytes.len())..]).map_or(bytes.len(), |k| i + k);
        } else {
            let end = memchr::memchr(b';', &bytes[i..]).map_or(bytes.len(), |k| i + k);
            raw.extend_from_slice(value[i..end].trim_end().as_bytes());
            i = end;
        }
        if !key.is_empty() {
            out.push((key, String::from_utf8_lossy(&raw).into_owned()));
        }
    }
    out
}

/// Decodes an RFC 5987 `charset'language'percent-encoded` value (UTF-8 or ISO-8859-1).
fn decode_ext_value(value: &str) -> Option<String> {
    let mut pieces = value.splitn(3, '\'');
    let (charset, _language, encoded) = (pieces.next()?, pieces.next()?, pieces.next()?);
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(encoded).collect();
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

#[cfg(test)]
mod tests;

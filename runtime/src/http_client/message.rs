//! HTTP/1.1 framing without I/O: encoding a request head, parsing a response head and
//! deciding how the response body is delimited. Kept apart from sockets so it can be
//! tested on byte strings.

use super::url::Url;

/// Most header lines a response head may have.
const MAX_HEADERS: usize = 100;

/// The request head (and the body's length, when there is a body).
pub fn encode_request(
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body_len: Option<usize>,
) -> Result<Vec<u8>, String> {
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\n",
        url.target,
        url.authority()
    );
    if !has("user-agent") {
        head.push_str("User-Agent: ilo\r\n");
    }
    if !has("accept") {
        head.push_str("Accept: */*\r\n");
    }
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        // The client owns these: they describe framing it does itself.
        if matches!(
            lower.as_str(),
            "host" | "content-length" | "transfer-encoding" | "connection"
        ) {
            continue;
        }
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(format!("invalid header name '{name}'"));
        }
        if value.contains(['\r', '\n']) {
            return Err(format!(
                "invalid value for header '{name}': contains a line break"
            ));
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(len) = body_len {
        head.push_str(&format!("Content-Length: {len}\r\n"));
    }
    // One request per connection: the body may then also end at close.
    head.push_str("Connection: close\r\n\r\n");
    Ok(head.into_bytes())
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parse a complete response head (status line to the blank line, inclusive).
pub fn parse_head(bytes: &[u8]) -> Result<Head, String> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    match response.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err("incomplete response head".into()),
        Err(e) => return Err(format!("invalid response head: {e}")),
    }
    let headers = response
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).trim().to_string(),
            )
        })
        .collect();
    Ok(Head {
        status: response.code.unwrap_or(0),
        reason: response.reason.unwrap_or("").to_string(),
        headers,
    })
}

/// How the body of a response ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// At connection close.
    Close,
}

pub fn body_framing(method: &str, head: &Head) -> Result<Framing, String> {
    if method == "HEAD" || head.status / 100 == 1 || head.status == 204 || head.status == 304 {
        return Ok(Framing::Length(0));
    }
    if let Some(te) = head.header("transfer-encoding") {
        if te.to_ascii_lowercase().contains("chunked") {
            return Ok(Framing::Chunked);
        }
        return Ok(Framing::Close);
    }
    match head.header("content-length") {
        Some(len) => len
            .parse()
            .map(Framing::Length)
            .map_err(|_| format!("invalid Content-Length '{len}'")),
        None => Ok(Framing::Close),
    }
}

/// The size in a chunk-size line (`1a;ext=1\r\n` → 26).
pub fn parse_chunk_size(line: &[u8]) -> Result<u64, String> {
    let text = String::from_utf8_lossy(line);
    let digits = text.split(';').next().unwrap_or("").trim();
    u64::from_str_radix(digits, 16)
        .map_err(|_| format!("invalid chunk size line '{}'", text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_head_has_host_length_and_user_headers() {
        let url = Url::parse("http://h:8080/p?q").unwrap();
        let headers = vec![("x-api-key".to_string(), "s".to_string())];
        let head =
            String::from_utf8(encode_request("POST", &url, &headers, Some(3)).unwrap()).unwrap();
        assert!(head.starts_with("POST /p?q HTTP/1.1\r\nHost: h:8080\r\n"));
        assert!(head.contains("\r\nx-api-key: s\r\n"));
        assert!(head.contains("\r\nContent-Length: 3\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
    }

    #[test]
    fn header_injection_is_refused() {
        let url = Url::parse("http://h/").unwrap();
        let bad = vec![("a".to_string(), "b\r\nc: d".to_string())];
        assert!(encode_request("GET", &url, &bad, None).is_err());
        let bad = vec![("a b".to_string(), "c".to_string())];
        assert!(encode_request("GET", &url, &bad, None).is_err());
    }

    #[test]
    fn framing_follows_the_head() {
        let head = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n").unwrap();
        assert_eq!((head.status, head.reason.as_str()), (200, "OK"));
        assert_eq!(body_framing("GET", &head), Ok(Framing::Length(5)));
        let head = parse_head(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        )
        .unwrap();
        assert_eq!(body_framing("GET", &head), Ok(Framing::Chunked));
        let head = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
        assert_eq!(body_framing("GET", &head), Ok(Framing::Close));
        let head = parse_head(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!(body_framing("GET", &head), Ok(Framing::Length(0)));
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size(b"1a;x=y\r\n"), Ok(26));
        assert_eq!(parse_chunk_size(b"0\r\n"), Ok(0));
        assert!(parse_chunk_size(b"zz\r\n").is_err());
    }
}

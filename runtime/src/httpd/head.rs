//! Rendering the response head: status line, headers, and the framing header that
//! matches the body shape.

use std::fmt::Write as _;

/// How the body that follows the head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delimit {
    Length(usize),
    Chunked,
    /// Ends when the connection closes (HTTP/1.0 streams).
    Close,
    /// The status forbids a body (1xx, 204, 304).
    NoBody,
}

/// Statuses that never carry a body.
pub fn forbids_body(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}

/// What the connection does after this response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persist {
    /// HTTP/1.1 default: say nothing.
    KeepImplicit,
    /// HTTP/1.0 client that asked for keep-alive.
    KeepExplicit,
    Close,
}

pub fn render(
    minor_version: u8,
    status: u16,
    headers: &[(String, String)],
    delimit: Delimit,
    persist: Persist,
) -> Vec<u8> {
    let mut s = String::with_capacity(128);
    let _ = write!(
        s,
        "HTTP/1.{} {} {}\r\n",
        minor_version.min(1),
        status,
        reason(status)
    );
    for (name, value) in headers {
        let _ = write!(s, "{name}: {value}\r\n");
    }
    match delimit {
        Delimit::Length(n) => {
            let _ = write!(s, "content-length: {n}\r\n");
        }
        Delimit::Chunked => s.push_str("transfer-encoding: chunked\r\n"),
        Delimit::Close | Delimit::NoBody => {}
    }
    match persist {
        Persist::KeepImplicit => {}
        Persist::KeepExplicit => s.push_str("connection: keep-alive\r\n"),
        Persist::Close => s.push_str("connection: close\r\n"),
    }
    s.push_str("\r\n");
    s.into_bytes()
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_status_headers_framing_and_connection() {
        let headers = vec![("content-type".to_string(), "text/plain".to_string())];
        let head = render(1, 200, &headers, Delimit::Length(5), Persist::KeepImplicit);
        assert_eq!(
            String::from_utf8_lossy(&head),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\n"
        );
        let head = render(0, 404, &[], Delimit::Close, Persist::Close);
        assert_eq!(
            String::from_utf8_lossy(&head),
            "HTTP/1.0 404 Not Found\r\nconnection: close\r\n\r\n"
        );
        let head = render(1, 200, &[], Delimit::Chunked, Persist::KeepImplicit);
        assert!(String::from_utf8_lossy(&head).contains("transfer-encoding: chunked\r\n"));
    }
}

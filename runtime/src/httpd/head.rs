//! Rendering the response head: status line, headers, and the framing header that
//! the response's [`Plan`](super::framing::Plan) chose.
//!
//! Straight into bytes, without the formatting machinery: a head is written for every
//! response, and for small responses it is a good share of the work.

use super::framing::{Framing, Persist};

pub fn render<N: AsRef<str>, V: AsRef<str>>(
    minor_version: u8,
    status: u16,
    headers: &[(N, V)],
    framing: Framing,
    persist: Persist,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(if minor_version == 0 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    push_decimal(&mut out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_ref().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_ref().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        Framing::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            push_decimal(&mut out, n as u64);
            out.extend_from_slice(b"\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Framing::CloseDelimited | Framing::NoBody => {}
    }
    match persist {
        Persist::KeepImplicit => {}
        Persist::KeepExplicit => out.extend_from_slice(b"connection: keep-alive\r\n"),
        Persist::Close => out.extend_from_slice(b"connection: close\r\n"),
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Appends `n` in decimal without going through `fmt`: the head and the access log
/// each write a few numbers per request.
pub(super) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
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
        let headers = vec![("content-type", "text/plain")];
        let head = render(1, 200, &headers, Framing::Length(5), Persist::KeepImplicit);
        assert_eq!(
            String::from_utf8_lossy(&head),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\n"
        );
        let none: [(&str, &str); 0] = [];
        let head = render(0, 404, &none, Framing::CloseDelimited, Persist::Close);
        assert_eq!(
            String::from_utf8_lossy(&head),
            "HTTP/1.0 404 Not Found\r\nconnection: close\r\n\r\n"
        );
        let head = render(1, 200, &none, Framing::Chunked, Persist::KeepImplicit);
        assert!(String::from_utf8_lossy(&head).contains("transfer-encoding: chunked\r\n"));
        let head = render(
            1,
            599,
            &none,
            Framing::Length(1234567890),
            Persist::KeepExplicit,
        );
        assert_eq!(
            String::from_utf8_lossy(&head),
            "HTTP/1.1 599 Status\r\ncontent-length: 1234567890\r\nconnection: keep-alive\r\n\r\n"
        );
        let head = render(1, 204, &none, Framing::NoBody, Persist::KeepImplicit);
        assert_eq!(
            String::from_utf8_lossy(&head),
            "HTTP/1.1 204 No Content\r\n\r\n"
        );
    }
}

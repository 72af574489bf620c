//! Pages of events kept compressed: many clients reading the same page (the dashboard's first
//! page, open in every analyst's tab) share one gzip encoding of it instead of one each.
//!
//! Compressing a page costs more than answering it from the query cache (a 72 KB page, about
//! 0.7 ms of a core), so per request it halved the first page's throughput under load. The
//! service hands every caller of one cached answer the same `Arc`; this keeps that page's gzip
//! bytes beside it, keyed by the answer's address. Each entry holds the `Arc` itself, so no other
//! page can take that address while the entry lives, and a lookup checks it is the same page.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;

use aoc_model::EventPage;

/// How many pages' bytes are kept (each a few KB to tens of KB compressed).
const PAGES: u64 = 256;
/// An answer the service no longer keeps is not asked for again: bound what it holds.
const KEEP: Duration = Duration::from_secs(600);

type Entry = Arc<(Arc<EventPage>, Bytes)>;

/// The gzip bytes of shared pages of events; one per server, shared by every request.
#[derive(Clone)]
pub struct CompressedPages {
    pages: moka::sync::Cache<usize, Entry>,
}

impl Default for CompressedPages {
    fn default() -> Self {
        Self {
            pages: moka::sync::Cache::builder()
                .max_capacity(PAGES)
                .time_to_live(KEEP)
                .build(),
        }
    }
}

impl CompressedPages {
    /// `page` as JSON, gzip-encoded once per page when the request accepts gzip, else as JSON
    /// (which the compression layer may still encode as the client asks).
    pub fn respond(&self, request: &HeaderMap, page: Arc<EventPage>) -> Response {
        if !accepts_gzip(request) {
            return axum::Json(&*page).into_response();
        }
        let address = Arc::as_ptr(&page) as usize;
        let entry = match self.pages.get(&address) {
            Some(entry) if Arc::ptr_eq(&entry.0, &page) => entry,
            _ => match gzip_json(&page) {
                Ok(bytes) => {
                    let entry = Arc::new((page, bytes));
                    self.pages.insert(address, Arc::clone(&entry));
                    entry
                }
                // Not expected (writing to memory); the plain answer is still right.
                Err(_) => return axum::Json(&*page).into_response(),
            },
        };
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                (header::VARY, HeaderValue::from_static("accept-encoding")),
            ],
            entry.1.clone(),
        )
            .into_response()
    }
}

fn gzip_json(page: &EventPage) -> std::io::Result<Bytes> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(16 * 1024), Compression::default());
    serde_json::to_writer(&mut encoder, page)?;
    encoder.flush()?;
    Ok(Bytes::from(encoder.finish()?))
}

/// Whether `Accept-Encoding` takes gzip: named (or `*`) with a weight above zero.
fn accepts_gzip(request: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in request.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q=").map(|q| q.trim().parse::<f32>()))
                .map_or(Some(1.0), Result::ok);
            let Some(weight) = weight else { continue };
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(weight > 0.0);
            } else if coding == "*" {
                any = Some(weight > 0.0);
            }
        }
    }
    gzip.or(any).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).expect("value"),
        );
        headers
    }

    #[test]
    fn gzip_is_taken_when_named_or_any_with_a_weight() {
        for (accept, takes) in [
            ("gzip", true),
            ("gzip, deflate, br, zstd", true),
            ("br;q=1.0, GZIP;q=0.5", true),
            ("*", true),
            ("gzip;q=0", false),
            ("gzip;q=0.000, *", false),
            ("*;q=0", false),
            ("br", false),
            ("identity", false),
            ("gzip;q=nonsense", false),
        ] {
            assert_eq!(accepts_gzip(&headers(accept)), takes, "{accept}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    fn page(cursor: &str) -> Arc<EventPage> {
        Arc::new(EventPage {
            items: Vec::new(),
            next_cursor: Some(cursor.to_owned()),
        })
    }

    async fn gzip_body(response: Response) -> Bytes {
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
    }

    #[tokio::test]
    async fn one_page_is_compressed_once_and_reads_back_whole() {
        use std::io::Read;
        let pages = CompressedPages::default();
        let first = page("first");
        let once = gzip_body(pages.respond(&headers("gzip"), Arc::clone(&first))).await;
        let again = gzip_body(pages.respond(&headers("gzip, br"), Arc::clone(&first))).await;
        assert_eq!(once, again);
        pages.pages.run_pending_tasks();
        assert_eq!(pages.pages.entry_count(), 1, "one page, one encoding");

        let mut json = String::new();
        flate2::read::GzDecoder::new(&once[..])
            .read_to_string(&mut json)
            .expect("gzip");
        assert_eq!(json, serde_json::to_string(&*first).expect("json"));

        // Another page (another answer) gets its own bytes, never the first page's.
        let second = page("second");
        let other = gzip_body(pages.respond(&headers("gzip"), Arc::clone(&second))).await;
        assert_ne!(other, once);
        // Without gzip accepted, the page is plain JSON.
        let plain = pages.respond(&HeaderMap::new(), first);
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    }
}

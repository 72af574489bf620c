//! Pages of events kept compressed: many clients reading the same page (the dashboard's first
//! page, open in every analyst's tab) share one encoding of it instead of one each.
//!
//! Compressing a page costs more than answering it from the query cache (a 72 KB page, about
//! 0.7 ms of a core), so per request it halved the first page's throughput under load. The
//! service hands every caller of one cached answer the same `Arc`; this keeps that page's brotli
//! or gzip bytes (whichever the client prefers, as the compression layer would choose) beside it,
//! keyed by the answer's address. Each entry holds the `Arc` itself, so no other page can take
//! that address while the entry lives, and a lookup checks it is the same page.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use flate2::write::GzEncoder;

use aoc_model::EventPage;

/// The most memory the kept pages may weigh, in estimated bytes: an entry keeps its page alive
/// (even once the query cache has let it go) as well as its encoded bytes.
const MEMORY_BYTES: u64 = 16 * 1024 * 1024;
/// An answer the service no longer keeps is not asked for again: bound what it holds.
const KEEP: Duration = Duration::from_secs(600);
/// Brotli's quality for answers: the compression layer's (and nginx's) choice for on-the-fly
/// encoding; the top quality costs tens of milliseconds per page.
const BROTLI_QUALITY: u32 = 4;
const BROTLI_WINDOW: u32 = 22;

/// A content coding AOC keeps pages in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
        }
    }

    fn encode(self, page: &EventPage) -> std::io::Result<Bytes> {
        let json = serde_json::to_vec(page)?;
        let bytes = match self {
            Self::Brotli => {
                let mut writer = brotli::CompressorWriter::new(
                    Vec::with_capacity(json.len() / 4),
                    4096,
                    BROTLI_QUALITY,
                    BROTLI_WINDOW,
                );
                writer.write_all(&json)?;
                writer.into_inner()
            }
            Self::Gzip => {
                let mut encoder = GzEncoder::new(
                    Vec::with_capacity(json.len() / 4),
                    flate2::Compression::default(),
                );
                encoder.write_all(&json)?;
                encoder.finish()?
            }
        };
        Ok(Bytes::from(bytes))
    }
}

type Entry = Arc<(Arc<EventPage>, Bytes)>;

/// The encoded bytes of shared pages of events; one per server, shared by every request.
#[derive(Clone)]
pub struct CompressedPages {
    pages: moka::sync::Cache<(usize, Coding), Entry>,
}

impl Default for CompressedPages {
    fn default() -> Self {
        Self {
            pages: moka::sync::Cache::builder()
                .max_capacity(MEMORY_BYTES)
                .weigher(|_key, entry: &Entry| weight(entry))
                .time_to_live(KEEP)
                .build(),
        }
    }
}

impl CompressedPages {
    /// `page` as JSON, encoded once per page in the coding the request prefers (brotli or
    /// gzip), else as plain JSON.
    pub fn respond(&self, request: &HeaderMap, page: Arc<EventPage>) -> Response {
        let Some(coding) = preferred_coding(request) else {
            return axum::Json(&*page).into_response();
        };
        let key = (Arc::as_ptr(&page) as usize, coding);
        let entry = match self.pages.get(&key) {
            Some(entry) if Arc::ptr_eq(&entry.0, &page) => entry,
            _ => match coding.encode(&page) {
                Ok(bytes) => {
                    let entry = Arc::new((page, bytes));
                    self.pages.insert(key, Arc::clone(&entry));
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
                (
                    header::CONTENT_ENCODING,
                    HeaderValue::from_static(coding.name()),
                ),
                (header::VARY, HeaderValue::from_static("accept-encoding")),
            ],
            entry.1.clone(),
        )
            .into_response()
    }
}

/// An entry's estimated memory: the page's events (about 1.5 KB each without their raw records,
/// as the query cache weighs them) and the encoded bytes.
fn weight(entry: &Entry) -> u32 {
    let (page, bytes) = &**entry;
    let estimate = 256 + 1_536 * page.items.len() + bytes.len();
    u32::try_from(estimate).unwrap_or(u32::MAX)
}

/// The coding `Accept-Encoding` prefers among brotli and gzip: the higher weight, brotli on a
/// tie (the compression layer's order); `*` stands for a coding not named; weight 0 refuses.
fn preferred_coding(request: &HeaderMap) -> Option<Coding> {
    let (mut brotli, mut gzip, mut any) = (None, None, None);
    for value in request.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q=").map(|q| q.trim().parse::<f32>()))
                .map_or(Some(1.0), Result::ok);
            let Some(weight) = weight.filter(|w| (0.0..=1.0).contains(w)) else {
                continue;
            };
            if coding.eq_ignore_ascii_case("br") {
                brotli = Some(weight);
            } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(weight);
            } else if coding == "*" {
                any = Some(weight);
            }
        }
    }
    let brotli = brotli.or(any).unwrap_or(0.0);
    let gzip = gzip.or(any).unwrap_or(0.0);
    if brotli > 0.0 && brotli >= gzip {
        Some(Coding::Brotli)
    } else if gzip > 0.0 {
        Some(Coding::Gzip)
    } else {
        None
    }
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
    fn the_preferred_coding_follows_the_weights() {
        use Coding::{Brotli, Gzip};
        for (accept, coding) in [
            ("gzip", Some(Gzip)),
            ("gzip, deflate, br, zstd", Some(Brotli)),
            ("br;q=1.0, GZIP;q=0.5", Some(Brotli)),
            ("br;q=0.5, gzip", Some(Gzip)),
            ("br;q=0, gzip", Some(Gzip)),
            ("*", Some(Brotli)),
            ("gzip;q=0, *", Some(Brotli)),
            ("br;q=0, gzip;q=0.000, *", None),
            ("*;q=0", None),
            ("deflate", None),
            ("identity", None),
            ("gzip;q=nonsense", None),
            ("gzip;q=7", None),
        ] {
            assert_eq!(preferred_coding(&headers(accept)), coding, "{accept}");
        }
        assert_eq!(preferred_coding(&HeaderMap::new()), None);
    }

    fn page(cursor: &str) -> Arc<EventPage> {
        Arc::new(EventPage {
            items: Vec::new(),
            next_cursor: Some(cursor.to_owned()),
        })
    }

    async fn encoded_body(response: Response, coding: &str) -> Bytes {
        assert_eq!(response.headers()[header::CONTENT_ENCODING], coding);
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
    }

    #[tokio::test]
    async fn one_page_is_encoded_once_per_coding_and_reads_back_whole() {
        use std::io::Read;
        let pages = CompressedPages::default();
        let first = page("first");
        let json = serde_json::to_string(&*first).expect("json");

        let gzip = encoded_body(pages.respond(&headers("gzip"), Arc::clone(&first)), "gzip").await;
        let again = encoded_body(pages.respond(&headers("gzip"), Arc::clone(&first)), "gzip").await;
        assert_eq!(gzip, again);
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_string(&mut text)
            .expect("gzip");
        assert_eq!(text, json);

        let brotli = encoded_body(
            pages.respond(&headers("br, gzip"), Arc::clone(&first)),
            "br",
        )
        .await;
        let mut text = String::new();
        brotli::Decompressor::new(&brotli[..], 4096)
            .read_to_string(&mut text)
            .expect("brotli");
        assert_eq!(text, json);
        pages.pages.run_pending_tasks();
        assert_eq!(pages.pages.entry_count(), 2, "one page, two codings");

        // Another page (another answer) gets its own bytes, never the first page's.
        let second = page("second");
        let other =
            encoded_body(pages.respond(&headers("gzip"), Arc::clone(&second)), "gzip").await;
        assert_ne!(other, gzip);
        // Without a coding accepted, the page is plain JSON.
        let plain = pages.respond(&HeaderMap::new(), first);
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    }
}

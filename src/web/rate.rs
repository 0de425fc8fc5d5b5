//! A token bucket in front of every route: bursts up to a second's worth,
//! then the rate; beyond it the server answers 429.

use std::sync::{Arc, Mutex};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Requests per second the server answers, all clients together (bursts up
/// to a second's worth); beyond that it answers 429.
pub const RATE_PER_SECOND: f64 = 2000.0;

/// A token bucket.
pub struct Bucket {
    rate: f64,
    tokens: f64,
    last: std::time::Instant,
}

impl Bucket {
    pub fn new(rate: f64) -> Bucket {
        Bucket {
            rate,
            tokens: rate,
            last: std::time::Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = std::time::Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub async fn limit_rate(
    bucket: Arc<Mutex<Bucket>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if bucket.lock().expect("bucket").take() {
        next.run(request).await
    } else {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "too many requests",
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_second_of_burst_then_the_rate() {
        let mut bucket = Bucket::new(10.0);
        assert!((0..10).all(|_| bucket.take()));
        assert!(!bucket.take());
        std::thread::sleep(std::time::Duration::from_millis(120));
        assert!(bucket.take());
        assert!(!bucket.take());
    }
}

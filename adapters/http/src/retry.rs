//! The one retry policy: exponential backoff with jitter (backon), bounded
//! by a number of retries and by a total time budget, honouring
//! `Retry-After` in both its forms.
//!
//! What is transient is decided here too, for every adapter: a connection
//! that broke during the exchange, a timeout during the exchange, and the
//! answers 408, 429, 500, 502, 503 and 504.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// No retry starts once waiting for it would end past this much time
    /// after the first attempt.
    pub budget: Duration,
    /// First backoff step, and the least wait before any retry, even when
    /// the server says `Retry-After: 0`.
    pub min_delay: Duration,
    /// Longest backoff step.
    pub max_delay: Duration,
    /// Least wait after a 429 that carries no `Retry-After`: rate limits
    /// reset within seconds, so an immediate retry is wasted.
    pub rate_limit_delay: Duration,
    /// Longest `Retry-After` honoured; a server asking for more ends the
    /// operation at once instead of keeping the job waiting.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            budget: Duration::from_secs(60),
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            rate_limit_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// One attempt's failure, as the operation classifies it.
#[derive(Debug)]
pub enum Attempt<E> {
    /// Another attempt would fail the same way.
    Final(E),
    /// Another attempt may succeed.
    Transient {
        error: E,
        /// What the server asked for, when it did.
        retry_after: Option<Duration>,
        /// A 429: wait at least the policy's `rate_limit_delay`.
        rate_limited: bool,
    },
}

impl<E> Attempt<E> {
    /// A transient failure without a server-given wait.
    pub fn transient(error: E) -> Self {
        Self::Transient {
            error,
            retry_after: None,
            rate_limited: false,
        }
    }

    /// Classifies an answer's status: `Some` when it is a transient one
    /// (408, 429, 500, 502, 503, 504), with its `Retry-After`.
    pub fn from_status(status: u16, headers: &reqwest::header::HeaderMap, error: E) -> Self {
        if !is_transient_status(status) {
            return Self::Final(error);
        }
        Self::Transient {
            error,
            retry_after: headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after),
            rate_limited: status == 429,
        }
    }

    /// Classifies a failure to get an answer (see `Cause::is_transient`).
    pub fn from_transport(error: &reqwest::Error, mapped: E) -> Self {
        if crate::Cause::is_transient(error) {
            Self::transient(mapped)
        } else {
            Self::Final(mapped)
        }
    }

    pub fn error(&self) -> &E {
        match self {
            Self::Final(error) | Self::Transient { error, .. } => error,
        }
    }

    fn into_error(self) -> E {
        match self {
            Self::Final(error) | Self::Transient { error, .. } => error,
        }
    }
}

pub fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Why the operation stopped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// The failure was not transient.
    Final,
    /// Every retry was used.
    Attempts,
    /// The next wait (`wait`) would pass the budget or the longest
    /// `Retry-After` honoured.
    Budget { wait: Duration },
}

/// The last failure of an operation that did not succeed.
#[derive(Debug)]
pub struct GaveUp<E> {
    pub error: E,
    pub attempts: u32,
    pub elapsed: Duration,
    pub stop: Stop,
    pub budget: Duration,
}

impl<E: std::fmt::Display> GaveUp<E> {
    /// The error, followed by why no further attempt was made when retries
    /// were involved: `... (gave up after 3 attempts in 1.2s)`.
    pub fn describe(&self) -> String {
        match self.stop {
            Stop::Final => self.error.to_string(),
            Stop::Attempts => format!(
                "{} (gave up after {} attempts in {:.1}s)",
                self.error,
                self.attempts,
                self.elapsed.as_secs_f64()
            ),
            Stop::Budget { wait } => format!(
                "{} (gave up after {} attempts: waiting {:.1}s more would exceed the retry budget \
                 of {}s)",
                self.error,
                self.attempts,
                wait.as_secs_f64().min(f64::from(u32::MAX)),
                self.budget.as_secs()
            ),
        }
    }
}

impl GaveUp<imglife_domain::ports::StoreError> {
    /// The store error to report: `context` (what was being done), then
    /// the last failure and why no further attempt was made, in the same
    /// variant as the last failure (a refusal stays `Denied`, a bad answer
    /// `Failed`, anything else is `Unavailable`).
    pub fn into_store_error(self, context: &str) -> imglife_domain::ports::StoreError {
        use imglife_domain::ports::StoreError;
        let text = format!("{context}: {}", self.describe());
        match self.error {
            StoreError::Failed(_) => StoreError::Failed(text),
            StoreError::Denied(_) => StoreError::Denied(text),
            _ => StoreError::Unavailable(text),
        }
    }
}

/// Runs `operation` until it succeeds, fails for good, or the policy says
/// stop. `what` names the operation in the log line of each retry.
pub async fn retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    mut operation: F,
) -> Result<T, GaveUp<E>>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt<E>>>,
{
    let started = Instant::now();
    // Atomics and a mutex, not cells: the future must stay `Send` for the
    // async-trait ports.
    let attempts = AtomicU32::new(0);
    let stop = Mutex::new(Stop::Final);
    let set_stop = |value: Stop| {
        if let Ok(mut slot) = stop.lock() {
            *slot = value;
        }
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(usize::try_from(policy.max_retries).unwrap_or(usize::MAX));
    let result = (|| {
        attempts.fetch_add(1, Ordering::Relaxed);
        operation()
    })
    .retry(backoff)
    .when(|attempt: &Attempt<E>| matches!(attempt, Attempt::Transient { .. }))
    .adjust(|attempt, step| {
        let Some(step) = step else {
            set_stop(Stop::Attempts);
            return None;
        };
        let wait = wait_for(policy, attempt, equal_jitter(step));
        let left = policy.budget.saturating_sub(started.elapsed());
        if wait > left || wait > policy.max_retry_after {
            set_stop(Stop::Budget { wait });
            return None;
        }
        Some(wait)
    })
    .notify(|attempt, after| {
        tracing::info!(error = %attempt.error(), ?after, what, "transient fault; retrying");
    })
    .await;
    result.map_err(|attempt| GaveUp {
        stop: match &attempt {
            Attempt::Final(_) => Stop::Final,
            Attempt::Transient { .. } => stop.lock().map_or(Stop::Attempts, |s| *s),
        },
        error: attempt.into_error(),
        attempts: attempts.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        budget: policy.budget,
    })
}

/// "Equal jitter": half the step fixed, half random, so that concurrent
/// clients spread out while none retries much sooner than the step says.
/// (backon's own jitter adds up to a whole step, doubling the worst case.)
fn equal_jitter(step: Duration) -> Duration {
    let half = step / 2;
    half + half.mul_f64(fastrand::f64())
}

/// The wait before the next attempt: the server's `Retry-After` when it
/// sent one, else the backoff step; never less than the policy's minimum.
fn wait_for<E>(policy: &RetryPolicy, attempt: &Attempt<E>, step: Duration) -> Duration {
    match attempt {
        Attempt::Transient {
            retry_after: Some(after),
            ..
        } => (*after).max(policy.min_delay),
        Attempt::Transient {
            rate_limited: true, ..
        } => step.max(policy.rate_limit_delay),
        _ => step.max(policy.min_delay),
    }
}

/// `Retry-After`: delay-seconds or an HTTP date (RFC 9110 §10.2.3). A date
/// in the past means now.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = when.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> RetryPolicy {
        RetryPolicy {
            max_retries: 2,
            budget: Duration::from_secs(5),
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            rate_limit_delay: Duration::from_millis(30),
            max_retry_after: Duration::from_secs(3),
        }
    }

    /// Runs an operation that fails with `fault` every time; returns the
    /// attempts made and how the operation ended.
    async fn always(policy: &RetryPolicy, fault: fn() -> Attempt<String>) -> (u32, GaveUp<String>) {
        let calls = std::cell::Cell::new(0u32);
        let result: Result<(), _> = retry(policy, "test", || {
            calls.set(calls.get() + 1);
            async move { Err(fault()) }
        })
        .await;
        (calls.get(), result.expect_err("always fails"))
    }

    #[tokio::test]
    async fn transient_faults_are_retried_up_to_the_limit() {
        let (calls, gave_up) = always(&quick(), || Attempt::transient("503".to_owned())).await;
        assert_eq!(calls, 3);
        assert_eq!(gave_up.attempts, 3);
        assert_eq!(gave_up.stop, Stop::Attempts);
        assert!(
            gave_up.describe().contains("gave up after 3 attempts"),
            "{}",
            gave_up.describe()
        );
    }

    #[tokio::test]
    async fn final_faults_are_not_retried() {
        let (calls, gave_up) = always(&quick(), || Attempt::Final("404".to_owned())).await;
        assert_eq!(calls, 1);
        assert_eq!(gave_up.stop, Stop::Final);
        assert_eq!(gave_up.describe(), "404");
    }

    #[tokio::test]
    async fn a_retry_after_beyond_the_cap_or_budget_ends_at_once() {
        let (calls, gave_up) = always(&quick(), || Attempt::Transient {
            error: "429".to_owned(),
            retry_after: parse_retry_after("18446744073709551615"),
            rate_limited: true,
        })
        .await;
        assert_eq!(calls, 1);
        assert!(matches!(gave_up.stop, Stop::Budget { .. }));
        assert!(
            gave_up.describe().contains("retry budget"),
            "{}",
            gave_up.describe()
        );
    }

    #[tokio::test]
    async fn success_after_a_transient_fault() {
        let calls = std::cell::Cell::new(0u32);
        let result = retry(&quick(), "test", || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 2 {
                    Err(Attempt::transient("reset".to_owned()))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result.ok(), Some(2));
    }

    #[test]
    fn waits_honour_the_server_but_never_go_below_the_minimum() {
        let policy = quick();
        let step = Duration::from_millis(15);
        let zero = Attempt::Transient {
            error: (),
            retry_after: Some(Duration::ZERO),
            rate_limited: false,
        };
        assert_eq!(wait_for(&policy, &zero, step), policy.min_delay);
        let asked = Attempt::Transient {
            error: (),
            retry_after: Some(Duration::from_secs(2)),
            rate_limited: true,
        };
        assert_eq!(wait_for(&policy, &asked, step), Duration::from_secs(2));
        let throttled = Attempt::Transient {
            error: (),
            retry_after: None,
            rate_limited: true,
        };
        assert_eq!(wait_for(&policy, &throttled, step), policy.rate_limit_delay);
        assert_eq!(wait_for(&policy, &Attempt::transient(()), step), step);
    }

    #[test]
    fn jitter_stays_between_half_a_step_and_a_step() {
        let step = Duration::from_secs(8);
        for _ in 0..100 {
            let wait = equal_jitter(step);
            assert!(wait >= step / 2 && wait <= step, "{wait:?}");
        }
    }

    #[test]
    fn parses_both_retry_after_forms() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let text = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&later)
            .expect("http date");
        let wait = parse_retry_after(&text).expect("parsed");
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn transient_statuses() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(is_transient_status(code), "{code}");
        }
        for code in [200, 400, 401, 403, 404, 409, 501] {
            assert!(!is_transient_status(code), "{code}");
        }
    }
}

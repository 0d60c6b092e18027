//! Retrying transient faults: exponential backoff with jitter, bounded in
//! attempts and in total time, honouring `Retry-After`.

use std::time::{Duration, Instant};

/// How hard to try before giving up on a transient fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// No retry starts once this much time has passed since the first
    /// attempt; a `Retry-After` beyond it ends the operation at once.
    pub budget: Duration,
    /// First backoff step; doubles per retry up to `cap`.
    pub base: Duration,
    pub cap: Duration,
    /// Least wait after a 429 that carries no `Retry-After` (the backoff
    /// step applies when it is longer).
    pub rate_limit_fallback: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            budget: Duration::from_secs(60),
            base: Duration::from_millis(250),
            cap: Duration::from_secs(8),
            rate_limit_fallback: Duration::from_secs(1),
        }
    }
}

/// One attempt's transient failure: why, and how long the server asked us
/// to wait, if it did.
#[derive(Debug, Clone)]
pub(crate) struct Transient {
    pub reason: String,
    pub retry_after: Option<Duration>,
}

/// Tracks attempts of one operation.
pub(crate) struct Attempts {
    policy: RetryPolicy,
    started: Instant,
    retries: u32,
}

impl Attempts {
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            started: Instant::now(),
            retries: 0,
        }
    }

    /// How long to wait before the next attempt, or `Err(summary)` when the
    /// operation must give up.
    pub fn next_delay(&mut self, fault: &Transient) -> Result<Duration, String> {
        let elapsed = self.started.elapsed();
        let tried = self.retries + 1;
        if self.retries >= self.policy.max_retries {
            return Err(format!(
                "{} (gave up after {tried} attempts in {:.1}s)",
                fault.reason,
                elapsed.as_secs_f64()
            ));
        }
        let delay = match fault.retry_after {
            Some(after) => after,
            None => self.backoff(),
        };
        // A server may send any Retry-After, up to u64::MAX seconds: compare
        // without adding, so nothing can overflow.
        if delay > self.policy.budget.saturating_sub(elapsed) {
            return Err(format!(
                "{} (gave up after {tried} attempts: waiting {:.1}s more would exceed the retry budget of {}s)",
                fault.reason,
                delay.as_secs_f64().min(f64::from(u32::MAX)),
                self.policy.budget.as_secs()
            ));
        }
        self.retries += 1;
        Ok(delay)
    }

    /// The wait after a 429 without `Retry-After`: GitLab's limits reset
    /// within seconds to a minute, so back off at least this much.
    pub fn rate_limit_fallback(&self) -> Duration {
        self.backoff().max(self.policy.rate_limit_fallback)
    }

    /// Exponential step with "equal jitter": half fixed, half random, so
    /// concurrent clients spread out without ever retrying instantly.
    fn backoff(&self) -> Duration {
        let step = self
            .policy
            .base
            .saturating_mul(1u32 << self.retries.min(16))
            .min(self.policy.cap);
        let half = step / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// `Retry-After`: delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
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

    fn fault(after: Option<Duration>) -> Transient {
        Transient {
            reason: "503".to_owned(),
            retry_after: after,
        }
    }

    #[test]
    fn bounded_in_attempts() {
        let mut attempts = Attempts::new(RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        });
        assert!(attempts.next_delay(&fault(None)).is_ok());
        assert!(attempts.next_delay(&fault(None)).is_ok());
        let err = attempts
            .next_delay(&fault(None))
            .expect_err("third retry refused");
        assert!(err.contains("3 attempts"), "{err}");
    }

    #[test]
    fn retry_after_is_honoured_and_bounded_by_the_budget() {
        let mut attempts = Attempts::new(RetryPolicy::default());
        assert_eq!(
            attempts.next_delay(&fault(Some(Duration::from_secs(2)))),
            Ok(Duration::from_secs(2))
        );
        let err = attempts
            .next_delay(&fault(Some(Duration::from_secs(3600))))
            .expect_err("beyond budget");
        assert!(err.contains("retry budget"), "{err}");
    }

    #[test]
    fn an_enormous_retry_after_ends_the_operation_without_overflow() {
        // Started 2 s ago: elapsed + u64::MAX seconds would overflow.
        let mut attempts = Attempts::new(RetryPolicy::default());
        attempts.started = Instant::now()
            .checked_sub(Duration::from_secs(2))
            .expect("the clock is past 2 s");
        let huge = parse_retry_after("18446744073709551615");
        assert_eq!(huge, Some(Duration::from_secs(u64::MAX)));
        let err = attempts
            .next_delay(&fault(huge))
            .expect_err("beyond budget");
        assert!(err.contains("retry budget"), "{err}");
    }

    #[test]
    fn backoff_grows_with_jitter_within_bounds() {
        let policy = RetryPolicy::default();
        let mut attempts = Attempts::new(policy);
        for retry in 0..6u32 {
            let step = policy.base.saturating_mul(1 << retry).min(policy.cap);
            let delay = attempts.next_delay(&fault(None));
            if retry < policy.max_retries {
                let delay = delay.expect("within attempts");
                assert!(delay >= step / 2 && delay <= step, "{delay:?} vs {step:?}");
            }
        }
    }

    #[test]
    fn parses_both_retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}

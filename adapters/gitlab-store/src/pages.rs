//! Reading a paginated list without trusting the server's headers.
//!
//! GitLab paginates by offset: `X-Next-Page` names the next page (empty on
//! the last one) and, while GitLab still counts (at most 10,000 items),
//! `X-Total-Pages` says how many there are. A server may lie in both, so a
//! listing:
//! - never requests or allocates in proportion to a header: an announced
//!   total is checked against the caps below before any further page is
//!   asked for, and pages are fetched a bounded number at a time;
//! - counts at most `registry.max_records` items and asks for at most as
//!   many pages as that many items need at 100 a page (plus one): past
//!   either, an error that says so, never a truncated answer;
//! - keeps only items whose texts are within GitLab's limits (255 bytes),
//!   so that what it holds is bounded by the number of items;
//! - refuses a `X-Next-Page` that does not move forward, a page whose
//!   items were all read before (a page that repeats), and an empty page
//!   that still offers a next one.

use std::collections::HashSet;

use imglife_domain::ports::StoreError;

use crate::api::{Listed, PER_PAGE};

/// Pages GitLab may announce in `X-Total-Pages`: GitLab stops counting
/// past 10,000 items (100 pages), so a larger total is not GitLab's.
pub(crate) const MAX_LIST_PAGES: u64 = 1_000;

/// The items of one listing read so far, and the checks between pages.
pub(crate) struct Listing<'a, T> {
    items: Vec<T>,
    seen: HashSet<u64>,
    /// Pages read.
    pages: u64,
    last_was_empty: bool,
    max_records: usize,
    /// For messages: "listing records".
    action: &'a str,
    /// For messages: "packages", "files of package 12".
    what: &'a str,
}

impl<'a, T: Listed> Listing<'a, T> {
    pub fn new(action: &'a str, what: &'a str, max_records: usize) -> Self {
        Self {
            items: Vec::new(),
            seen: HashSet::new(),
            pages: 0,
            last_was_empty: false,
            max_records: max_records.max(1),
            action,
            what,
        }
    }

    /// The most pages a listing may take: what `max_records` items need at
    /// 100 a page, plus one so that full pages meet the item limit first.
    fn max_pages(&self) -> u64 {
        (self.max_records as u64).div_ceil(PER_PAGE) + 1
    }

    /// Whether every page of an announced total may be asked for.
    pub fn check_total(&self, total: u64) -> Result<(), StoreError> {
        let (action, what, max_pages) = (self.action, self.what, self.max_pages());
        if total > max_pages {
            return Err(StoreError::Failed(format!(
                "{action}: GitLab announces {total} pages of {what} (X-Total-Pages), more than \
                 the {max_pages} pages that registry.max_records ({}) allows at {PER_PAGE} a \
                 page; {}",
                self.max_records, RAISE
            )));
        }
        if total > MAX_LIST_PAGES {
            return Err(StoreError::Failed(format!(
                "{action}: GitLab announces {total} pages of {what} (X-Total-Pages); imglife \
                 reads at most {MAX_LIST_PAGES} pages of {PER_PAGE} while GitLab counts them"
            )));
        }
        Ok(())
    }

    /// Before asking for one more page by following `X-Next-Page`.
    pub fn may_request_another(&self) -> Result<(), StoreError> {
        if self.pages < self.max_pages() {
            return Ok(());
        }
        Err(StoreError::Failed(format!(
            "{}: GitLab offers more than {} pages of {} (X-Next-Page), more than \
             registry.max_records ({}) needs at {PER_PAGE} a page; {RAISE}",
            self.action, self.pages, self.what, self.max_records
        )))
    }

    /// Adds the items of `page`; refuses a page that repeats items already
    /// read and a listing that grows past `max_records`.
    pub fn add(&mut self, page: &str, items: Vec<T>) -> Result<(), StoreError> {
        self.pages += 1;
        self.last_was_empty = items.is_empty();
        if !items.is_empty() && items.iter().all(|item| self.seen.contains(&item.id())) {
            return Err(StoreError::Failed(format!(
                "{}: GitLab's pagination is inconsistent: page {page} repeats {} already read",
                self.action, self.what
            )));
        }
        for item in items {
            // An item seen twice (pages shifted by a concurrent change) is
            // listed once.
            if !self.seen.insert(item.id()) {
                continue;
            }
            if item.fits() {
                self.items.push(item);
            } else {
                tracing::debug!(
                    "{}: skipping item {} of the {}: a name longer than GitLab allows",
                    self.action,
                    item.id(),
                    self.what
                );
            }
        }
        if self.seen.len() > self.max_records {
            return Err(StoreError::Failed(format!(
                "{}: GitLab lists more than {} {}, the most one listing may hold \
                 (registry.max_records); {RAISE}",
                self.action, self.max_records, self.what
            )));
        }
        Ok(())
    }

    /// The page to ask for after `current`, from its `X-Next-Page` (empty
    /// or absent on the last page); `None` at the end. Refuses a server
    /// that sends us back, or on from an empty page.
    pub fn next(&self, current: &str, header: Option<&str>) -> Result<Option<String>, StoreError> {
        let Some(next) = header.map(str::trim).filter(|n| !n.is_empty()) else {
            return Ok(None);
        };
        let action = self.action;
        if self.last_was_empty {
            return Err(StoreError::Failed(format!(
                "{action}: GitLab's pagination is inconsistent: page {current} is empty but \
                 points to page '{next}'"
            )));
        }
        match (current.parse::<u64>(), next.parse::<u64>()) {
            (Ok(c), Ok(n)) if n > c => Ok(Some(next.to_owned())),
            _ => Err(StoreError::Failed(format!(
                "{action}: GitLab's pagination is inconsistent (page {current} points to page \
                 '{next}')"
            ))),
        }
    }

    pub fn into_items(self) -> Vec<T> {
        self.items
    }
}

const RAISE: &str = "raise registry.max_records (IMGLIFE_REGISTRY__MAX_RECORDS) if the project \
                     really holds that many";

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Item(u64);

    impl Listed for Item {
        fn id(&self) -> u64 {
            self.0
        }

        /// Odd items above 1,000 pretend to have a name too long.
        fn fits(&self) -> bool {
            self.0 < 1_000 || self.0.is_multiple_of(2)
        }
    }

    fn page(from: u64, n: u64) -> Vec<Item> {
        (from..from + n).map(Item).collect()
    }

    fn message(result: Result<impl std::fmt::Debug, StoreError>) -> String {
        result.expect_err("refused").to_string()
    }

    #[test]
    fn pagination_must_move_forward() {
        let mut listing = Listing::new("x", "packages", 1000);
        listing.add("1", page(0, 100)).expect("page 1");
        assert_eq!(listing.next("1", Some("2")), Ok(Some("2".to_owned())));
        assert_eq!(listing.next("3", Some("")), Ok(None));
        assert_eq!(listing.next("3", None), Ok(None));
        assert!(listing.next("3", Some("3")).is_err());
        assert!(listing.next("3", Some("1")).is_err());
        assert!(listing.next("3", Some("abc")).is_err());
    }

    #[test]
    fn an_empty_page_that_offers_a_next_one_is_refused() {
        let mut listing = Listing::new("x", "packages", 1000);
        listing.add("1", page(0, 100)).expect("page 1");
        listing.add("2", Vec::new()).expect("an empty page is fine");
        assert_eq!(listing.next("2", None), Ok(None), "as the last page");
        let e = message(listing.next("2", Some("3")));
        assert!(e.contains("page 2 is empty but points to page '3'"), "{e}");
    }

    #[test]
    fn a_page_that_repeats_is_refused_and_overlaps_are_listed_once() {
        let mut listing = Listing::new("x", "packages", 1000);
        listing.add("1", page(0, 100)).expect("page 1");
        listing
            .add("2", page(50, 100))
            .expect("an overlap is not a repeat");
        let e = message(listing.add("3", page(100, 50)));
        assert!(e.contains("page 3 repeats packages already read"), "{e}");
        assert_eq!(listing.into_items(), page(0, 150));
    }

    #[test]
    fn more_items_than_max_records_is_an_error_naming_the_key() {
        let mut listing = Listing::new("listing records", "packages", 250);
        listing.add("1", page(0, 100)).expect("page 1");
        listing.add("2", page(100, 100)).expect("page 2");
        let e = message(listing.add("3", page(200, 100)));
        assert!(
            e.contains("more than 250 packages") && e.contains("registry.max_records"),
            "{e}"
        );
        // Exactly the limit is fine.
        let mut exact = Listing::new("x", "packages", 200);
        exact.add("1", page(0, 100)).expect("page 1");
        exact.add("2", page(100, 100)).expect("page 2");
    }

    #[test]
    fn items_over_gitlabs_limits_are_left_out_but_counted() {
        let mut listing = Listing::new("x", "packages", 150);
        listing.add("1", page(1_000, 100)).expect("page 1");
        let e = message(listing.add("2", page(1_100, 100)));
        assert!(e.contains("more than 150 packages"), "{e}");
        let kept = listing.into_items();
        assert_eq!(kept.len(), 100, "the even ones");
        assert!(kept.iter().all(|i| i.0.is_multiple_of(2)));
    }

    #[test]
    fn short_pages_cannot_keep_a_listing_going() {
        // 250 records need 3 pages at 100 a page; one more is allowed.
        let mut listing = Listing::new("x", "packages", 250);
        for n in 0..4 {
            listing
                .may_request_another()
                .expect("within the pages needed");
            listing.add(&(n + 1).to_string(), page(n, 1)).expect("page");
        }
        let e = message(listing.may_request_another());
        assert!(
            e.contains("more than 4 pages") && e.contains("registry.max_records"),
            "{e}"
        );
    }

    #[test]
    fn announced_totals_are_checked_before_any_request() {
        let listing: Listing<'_, Item> = Listing::new("x", "packages", 100_000);
        listing.check_total(100).expect("GitLab's own totals");
        listing.check_total(1_000).expect("the default cap");
        let e = message(listing.check_total(1_000_000_000_000_000_000));
        assert!(
            e.contains("1000000000000000000 pages") && e.contains("registry.max_records"),
            "{e}"
        );
        let e = message(listing.check_total(u64::MAX));
        assert!(e.contains("X-Total-Pages"), "{e}");
        let small: Listing<'_, Item> = Listing::new("x", "packages", 500);
        small.check_total(6).expect("500 records may span 6 pages");
        assert!(small.check_total(7).is_err());
        let large: Listing<'_, Item> = Listing::new("x", "packages", 10_000_000);
        let e = message(large.check_total(5_000));
        assert!(e.contains("at most 1000 pages"), "{e}");
    }
}

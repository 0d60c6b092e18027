//! Reading Gitea's paginated package list without trusting the server.
//!
//! `GET /api/v1/packages/{owner}?type=generic&limit=50&page=N` pages by
//! offset (`page` from 1, `limit` capped at `[api] MAX_RESPONSE_ITEMS`, 50
//! by default, possibly lower) and announces the total in
//! `X-Total-Count`. A server may lie in both, so a listing:
//! - ends only at an empty page, never because a header or a short page
//!   says so (one request more than the pages holding packages), so that
//!   a total announced too low cannot cut it short;
//! - refuses an announced total above `registry.max_records` before any
//!   further request, and asks for at most as many pages as that many
//!   items need at the page size of the first page (plus one): past either,
//!   an error that says so, never a truncated answer;
//! - counts at most `registry.max_records` distinct versions;
//! - refuses a page holding more items than asked for, a page whose items
//!   were all read before (a page that repeats: a server ignoring `page`,
//!   or a whole page of versions published while listing, since Gitea
//!   lists the newest first and offers no other order),
//!   and a page holding items after an empty one;
//! - keeps only generic packages whose name and version fit Gitea's
//!   columns (255 bytes), so what it holds is bounded by the number of
//!   items.

use std::collections::HashSet;

use imglife_domain::ports::StoreError;

use crate::api::{MAX_TEXT, PER_PAGE, Package};

/// The package versions of one listing read so far, and the checks
/// between pages.
pub(crate) struct Listing<'a> {
    items: Vec<Package>,
    seen: HashSet<u64>,
    /// Pages read.
    pages: usize,
    /// Items on the first page: the page size Gitea uses, when the owner
    /// has more packages than that.
    page_size: Option<usize>,
    /// The first empty page read, if any.
    empty_page: Option<usize>,
    max_records: usize,
    /// For messages: "listing records".
    action: &'a str,
}

impl<'a> Listing<'a> {
    pub fn new(action: &'a str, max_records: usize) -> Self {
        Self {
            items: Vec::new(),
            seen: HashSet::new(),
            pages: 0,
            page_size: None,
            empty_page: None,
            max_records: max_records.max(1),
            action,
        }
    }

    /// The most pages a listing may take: what `max_records` items need at
    /// the first page's size, plus the empty page that ends it.
    pub fn max_pages(&self) -> usize {
        let size = self.page_size.unwrap_or(PER_PAGE).max(1);
        self.max_records.div_ceil(size) + 1
    }

    /// The pages that the announced total (`X-Total-Count` of the first
    /// page) says hold packages, or an error when it is more than
    /// `registry.max_records` allows. Asking for them is only an
    /// optimisation: the listing still ends at an empty page.
    pub fn announced_pages(&self, total: u64) -> Result<usize, StoreError> {
        if total > self.max_records as u64 {
            return Err(StoreError::Failed(format!(
                "{}: Gitea announces {total} packages (X-Total-Count), more than \
                 registry.max_records ({}) allows; {RAISE}",
                self.action, self.max_records
            )));
        }
        let size = self.page_size.unwrap_or(PER_PAGE).max(1);
        Ok((total as usize).div_ceil(size).min(self.max_pages()))
    }

    /// Before asking for page `page`.
    pub fn may_request(&self, page: usize) -> Result<(), StoreError> {
        if page <= self.max_pages() {
            return Ok(());
        }
        Err(StoreError::Failed(format!(
            "{}: Gitea keeps offering pages of packages: page {page} would be more than \
             registry.max_records ({}) needs at {} a page; {RAISE}",
            self.action,
            self.max_records,
            self.page_size.unwrap_or(PER_PAGE).max(1)
        )))
    }

    /// Adds the items of `page` (pages are added in order). `Ok(false)` at
    /// the end: an empty page.
    pub fn add(&mut self, page: usize, items: Vec<Package>) -> Result<bool, StoreError> {
        let action = self.action;
        self.pages += 1;
        if items.len() > PER_PAGE {
            return Err(StoreError::Failed(format!(
                "{action}: page {page} of Gitea's package list holds {} packages, more than the \
                 {PER_PAGE} asked for",
                items.len()
            )));
        }
        if items.is_empty() {
            self.empty_page.get_or_insert(page);
            return Ok(false);
        }
        if let Some(empty) = self.empty_page {
            return Err(StoreError::Failed(format!(
                "{action}: Gitea's pagination is inconsistent: page {empty} was empty but page \
                 {page} holds packages"
            )));
        }
        if items.iter().all(|item| self.seen.contains(&item.id)) {
            return Err(StoreError::Failed(format!(
                "{action}: Gitea's pagination is inconsistent: page {page} repeats packages \
                 already read (the server ignores `page`, or a whole page of records was \
                 published while listing: Gitea lists the newest first); run the command again"
            )));
        }
        if page == 1 {
            self.page_size = Some(items.len());
        }
        for item in items {
            // An item seen twice (pages shifted by a concurrent upload) is
            // listed once.
            if !self.seen.insert(item.id) {
                continue;
            }
            let fits = item.name.len() <= MAX_TEXT && item.version.len() <= MAX_TEXT;
            // `type=generic` was asked for; a server ignoring it is not
            // trusted either.
            if fits && item.kind.eq_ignore_ascii_case("generic") {
                self.items.push(item);
            } else {
                tracing::debug!(
                    "{action}: skipping package version {}: not a generic package, or its name \
                     or version is longer than Gitea allows",
                    item.id
                );
            }
        }
        if self.seen.len() > self.max_records {
            return Err(StoreError::Failed(format!(
                "{action}: Gitea lists more than {} package versions, the most one listing may \
                 hold (registry.max_records); {RAISE}",
                self.max_records
            )));
        }
        Ok(true)
    }

    pub fn into_items(self) -> Vec<Package> {
        self.items
    }
}

const RAISE: &str = "raise registry.max_records (IMGLIFE_REGISTRY__MAX_RECORDS) if the owner \
                     really holds that many";

#[cfg(test)]
mod tests {
    use super::*;

    fn package(id: u64) -> Package {
        Package {
            id,
            name: format!("r.io+app-{id}"),
            version: "1.0".to_owned(),
            kind: "generic".to_owned(),
            repository: None,
        }
    }

    fn page(from: u64, n: u64) -> Vec<Package> {
        (from..from + n).map(package).collect()
    }

    fn message(result: Result<impl std::fmt::Debug, StoreError>) -> String {
        result.expect_err("refused").to_string()
    }

    #[test]
    fn a_listing_ends_at_an_empty_page_only() {
        let mut listing = Listing::new("x", 1000);
        assert_eq!(listing.add(1, page(0, 50)), Ok(true));
        assert_eq!(
            listing.add(2, page(50, 7)),
            Ok(true),
            "a short page is no end"
        );
        assert_eq!(listing.add(3, Vec::new()), Ok(false));
        assert_eq!(listing.into_items().len(), 57);
    }

    #[test]
    fn items_after_an_empty_page_are_refused() {
        let mut listing = Listing::new("x", 1000);
        listing.add(1, page(0, 50)).expect("page 1");
        assert_eq!(listing.add(2, Vec::new()), Ok(false));
        let e = message(listing.add(3, page(50, 50)));
        assert!(e.contains("page 2 was empty but page 3 holds"), "{e}");
    }

    #[test]
    fn a_page_that_repeats_is_refused_and_overlaps_are_listed_once() {
        let mut listing = Listing::new("x", 1000);
        listing.add(1, page(0, 50)).expect("page 1");
        listing
            .add(2, page(25, 50))
            .expect("an overlap is not a repeat");
        let e = message(listing.add(3, page(0, 50)));
        assert!(e.contains("page 3 repeats"), "{e}");
        assert_eq!(listing.into_items().len(), 75);
    }

    #[test]
    fn a_page_larger_than_asked_is_refused() {
        let mut listing = Listing::new("x", 1000);
        let e = message(listing.add(1, page(0, 51)));
        assert!(e.contains("51 packages, more than the 50"), "{e}");
    }

    #[test]
    fn more_items_than_max_records_is_an_error_naming_the_key() {
        let mut listing = Listing::new("listing records", 120);
        listing.add(1, page(0, 50)).expect("page 1");
        listing.add(2, page(50, 50)).expect("page 2");
        let e = message(listing.add(3, page(100, 50)));
        assert!(
            e.contains("more than 120") && e.contains("registry.max_records"),
            "{e}"
        );
        let mut exact = Listing::new("x", 100);
        exact.add(1, page(0, 50)).expect("page 1");
        exact.add(2, page(50, 50)).expect("exactly the limit");
    }

    #[test]
    fn announced_totals_are_checked_before_any_request() {
        let mut listing = Listing::new("x", 1000);
        listing.add(1, page(0, 50)).expect("page 1");
        assert_eq!(listing.announced_pages(120), Ok(3));
        assert_eq!(listing.announced_pages(1000), Ok(20));
        let e = message(listing.announced_pages(u64::MAX));
        assert!(
            e.contains("X-Total-Count") && e.contains("registry.max_records"),
            "{e}"
        );
        // An instance with a lower MAX_RESPONSE_ITEMS: pages of 20.
        let mut small = Listing::new("x", 100);
        small.add(1, page(0, 20)).expect("page 1");
        assert_eq!(small.announced_pages(100), Ok(5));
        assert_eq!(small.max_pages(), 6);
    }

    #[test]
    fn short_pages_cannot_keep_a_listing_going() {
        // 100 records at 50 a page: pages 1 and 2, and the empty page 3.
        let mut listing = Listing::new("x", 100);
        listing.add(1, page(0, 50)).expect("page 1");
        for n in 2..=3 {
            listing.may_request(n).expect("within the pages needed");
            listing.add(n, page(1000 + n as u64, 1)).expect("page");
        }
        let e = message(listing.may_request(4));
        assert!(
            e.contains("page 4") && e.contains("registry.max_records"),
            "{e}"
        );
    }

    #[test]
    fn foreign_and_oversized_packages_are_left_out_but_counted() {
        let mut listing = Listing::new("x", 1000);
        let mut items = page(0, 3);
        items[1].kind = "npm".to_owned();
        items[2].version = "v".repeat(300);
        listing.add(1, items).expect("page 1");
        let kept = listing.into_items();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].id, 0);
    }
}

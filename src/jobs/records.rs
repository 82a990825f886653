//! What every kind's job records share: the list query and the one way to page through
//! records newest first (job IDs sort by time, so the newest is the greatest ID).

/// Query of a record listing: a page of at most `limit` records, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery<S> {
    /// Page size; capped by the listing. 0 gives an empty page.
    pub limit: usize,
    /// Exclusive: only IDs strictly older (smaller) than this one.
    pub cursor: Option<String>,
    /// Only records with this status.
    pub status: Option<S>,
}

impl<S> Default for ListQuery<S> {
    fn default() -> Self {
        ListQuery {
            limit: 0,
            cursor: None,
            status: None,
        }
    }
}

/// A job record as the listings see it.
pub trait JobRecord: Clone {
    type Status: PartialEq + Copy;
    fn id(&self) -> &str;
    fn status(&self) -> Self::Status;
}

/// One page of `newest_first` (records in descending ID order) for query `q`, at most `max`
/// long, and the cursor of the next page (`None` on the last).
pub fn page<'a, T: JobRecord + 'a>(
    newest_first: impl Iterator<Item = &'a T>,
    q: &ListQuery<T::Status>,
    max: usize,
) -> (Vec<T>, Option<String>) {
    let limit = q.limit.min(max);
    let mut items: Vec<T> = Vec::new();
    let mut next = None;
    for r in newest_first.filter(|r| {
        q.cursor.as_deref().is_none_or(|c| r.id() < c) && q.status.is_none_or(|s| r.status() == s)
    }) {
        if items.len() == limit {
            next = items.last().map(|l| l.id().to_string());
            break;
        }
        items.push(r.clone());
    }
    (items, next)
}

impl JobRecord for crate::engine::record::BackupRecord {
    type Status = crate::engine::record::BackupStatus;
    fn id(&self) -> &str {
        &self.id
    }
    fn status(&self) -> Self::Status {
        self.status
    }
}

impl JobRecord for crate::restore::RestoreRecord {
    type Status = crate::restore::RestoreStatus;
    fn id(&self) -> &str {
        &self.id
    }
    fn status(&self) -> Self::Status {
        self.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct R(&'static str, bool);

    impl JobRecord for R {
        type Status = bool;
        fn id(&self) -> &str {
            self.0
        }
        fn status(&self) -> bool {
            self.1
        }
    }

    #[test]
    fn pages_newest_first_with_a_cursor_and_a_filter() {
        let all = [R("a", true), R("b", false), R("c", true), R("d", true)];
        let q = |cursor: Option<&str>, status| ListQuery {
            limit: 2,
            cursor: cursor.map(str::to_string),
            status,
        };
        let (p, next) = page(all.iter().rev(), &q(None, None), 10);
        assert_eq!(p, [R("d", true), R("c", true)]);
        assert_eq!(next.as_deref(), Some("c"));
        let (p, next) = page(all.iter().rev(), &q(Some("c"), None), 10);
        assert_eq!(p, [R("b", false), R("a", true)]);
        assert_eq!(next, None);
        let (p, _) = page(all.iter().rev(), &q(None, Some(false)), 10);
        assert_eq!(p, [R("b", false)]);
        let (p, next) = page(all.iter().rev(), &q(None, None), 1);
        assert_eq!((p.len(), next.as_deref()), (1, Some("d")));
    }
}

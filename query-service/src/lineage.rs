//! Whether the change log the ingest service serves now continues the one
//! this replica's read model was built from. Pure: the follower feeds it what
//! the model recorded and what ingest reported, and acts on the verdict.
//!
//! Sequences only mean something within one log: sequence 300 of a new log
//! (an empty store, or one restarted with `--accept-data-loss`) is a
//! different article than sequence 300 of the old one. Applying the new
//! log's events on top of the old model would silently serve a mixture, so
//! any doubt stops the follower (or, when told to, rebuilds the model).
//!
//! The same id with a head below the model's applied sequence is a log
//! rewound (restored from an older copy). Once such a log has grown past the
//! model again only its events can tell: the follower resumes one event
//! early and compares that event with the last one it applied
//! ([`same_event`]).

/// What the follower may do with the log ingest serves now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The model has followed no log yet: record this one, then follow it.
    Adopt,
    /// The same log, at or past what the model applied: follow it.
    Follow,
    /// Another log, or the same one rewound: never apply it on this model.
    Mismatch(Mismatch),
}

/// Why the log served now cannot continue the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// Ingest serves a log with another id than the model's.
    OtherLog {
        /// The model's log.
        followed: String,
        /// The log ingest serves.
        served: String,
    },
    /// The model's log now ends below what the model applied (restored from
    /// an older copy, for example), now or earlier.
    Rewound {
        /// The log.
        log_id: String,
        /// Its head as reported, or `None` when the rewind was seen earlier.
        head: Option<u64>,
        /// What the model applied.
        applied: u64,
    },
    /// The model's log holds another event at the model's applied sequence
    /// than the one the model applied: it was rewound and written again.
    Rewritten {
        /// The log.
        log_id: String,
        /// The sequence whose event differs.
        sequence: u64,
    },
}

/// Whether `served` is the event `applied` (as the model recorded it): same
/// position, kind, article and recording time. The article itself is not
/// compared (a superseded event comes without it).
pub fn same_event(
    applied: &sectorwire_proto::article::ChangeEvent,
    served: &sectorwire_proto::article::ChangeEvent,
) -> bool {
    applied.sequence == served.sequence
        && applied.kind == served.kind
        && applied.article_id == served.article_id
        && applied.recorded_at == served.recorded_at
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::OtherLog { followed, served } => write!(
                f,
                "the ingest service serves change log {served}, but this replica was built from log \
                 {followed} (the ingest store was replaced, or restarted with --accept-data-loss); \
                 restart the replica with --rebuild-on-new-log to rebuild it from the new log"
            ),
            Mismatch::Rewound {
                log_id,
                head: Some(head),
                applied,
            } => write!(
                f,
                "change log {log_id} ends at sequence {head}, below the {applied} this replica applied \
                 (the ingest store was restored from an older copy); restart the replica with \
                 --rebuild-on-new-log to rebuild it"
            ),
            Mismatch::Rewritten { log_id, sequence } => write!(
                f,
                "change log {log_id} holds another event at sequence {sequence} than the one this \
                 replica applied (the log was rewound and written again); restart the replica with \
                 --rebuild-on-new-log to rebuild it"
            ),
            Mismatch::Rewound { log_id, applied, .. } => write!(
                f,
                "change log {log_id} was seen rewound below the {applied} this replica applied; \
                 restart the replica with --rebuild-on-new-log to rebuild it"
            ),
        }
    }
}

/// What the model records about its log.
#[derive(Debug, Clone, Copy, Default)]
pub struct Followed<'a> {
    /// The log the model was built from, if any.
    pub log_id: Option<&'a str>,
    /// A log seen rewound below the model earlier, if any.
    pub diverged: Option<&'a str>,
    /// The model's applied sequence.
    pub applied: u64,
}

/// Judges the log `served` with head `head` (from ingest's stats or any feed
/// message) against the model. An empty `served` id comes from an ingest
/// service older than log ids: then only the head can be checked.
pub fn judge(model: Followed<'_>, served: &str, head: u64) -> Verdict {
    if let Some(followed) = model.log_id.filter(|id| !served.is_empty() && id != &served) {
        return Verdict::Mismatch(Mismatch::OtherLog {
            followed: followed.to_string(),
            served: served.to_string(),
        });
    }
    if !served.is_empty() && model.diverged == Some(served) {
        return Verdict::Mismatch(Mismatch::Rewound {
            log_id: served.to_string(),
            head: None,
            applied: model.applied,
        });
    }
    if head < model.applied {
        return Verdict::Mismatch(Mismatch::Rewound {
            log_id: served.to_string(),
            head: Some(head),
            applied: model.applied,
        });
    }
    if model.log_id.is_none() && !served.is_empty() {
        return Verdict::Adopt;
    }
    Verdict::Follow
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(log_id: Option<&'static str>, applied: u64) -> Followed<'static> {
        Followed {
            log_id,
            diverged: None,
            applied,
        }
    }

    #[test]
    fn a_fresh_model_adopts_the_log() {
        assert_eq!(judge(model(None, 0), "a", 10), Verdict::Adopt);
    }

    #[test]
    fn the_same_log_at_or_past_the_model_is_followed() {
        assert_eq!(judge(model(Some("a"), 10), "a", 10), Verdict::Follow);
        assert_eq!(judge(model(Some("a"), 10), "a", 11), Verdict::Follow);
    }

    #[test]
    fn another_log_is_a_mismatch_whatever_its_head() {
        for head in [0, 5, 10, 1000] {
            assert!(matches!(
                judge(model(Some("a"), 10), "b", head),
                Verdict::Mismatch(Mismatch::OtherLog { .. })
            ));
        }
    }

    #[test]
    fn a_head_below_applied_is_a_rewind_even_without_ids() {
        assert!(matches!(
            judge(model(Some("a"), 10), "a", 9),
            Verdict::Mismatch(Mismatch::Rewound { head: Some(9), .. })
        ));
        assert!(matches!(
            judge(model(None, 10), "", 9),
            Verdict::Mismatch(Mismatch::Rewound { .. })
        ));
        // A model made before log ids, ahead of the log: no adoption either.
        assert!(matches!(
            judge(model(None, 10), "a", 3),
            Verdict::Mismatch(Mismatch::Rewound { .. })
        ));
    }

    #[test]
    fn a_rewound_log_stays_refused_after_it_grows_again() {
        let followed = Followed {
            log_id: Some("a"),
            diverged: Some("a"),
            applied: 10,
        };
        assert!(matches!(
            judge(followed, "a", 50),
            Verdict::Mismatch(Mismatch::Rewound { head: None, .. })
        ));
    }

    #[test]
    fn events_are_the_same_by_position_kind_article_and_time() {
        use sectorwire_proto::article::ChangeEvent;
        let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 7 });
        let applied = ChangeEvent {
            sequence: 4,
            kind: 1,
            article_id: "x".into(),
            recorded_at: at(100),
            ..Default::default()
        };
        let superseded = ChangeEvent {
            superseded: true,
            ..applied.clone()
        };
        assert!(same_event(&applied, &superseded));
        let rewritten = ChangeEvent {
            recorded_at: at(101),
            ..applied.clone()
        };
        assert!(!same_event(&applied, &rewritten));
        let other = ChangeEvent {
            article_id: "y".into(),
            ..applied.clone()
        };
        assert!(!same_event(&applied, &other));
    }

    #[test]
    fn an_ingest_without_ids_is_followed_by_head_only() {
        assert_eq!(judge(model(Some("a"), 10), "", 12), Verdict::Follow);
        assert_eq!(judge(model(None, 0), "", 12), Verdict::Follow);
    }
}

//! The problem responses the operations document: each a status, a description and one or
//! more examples, each example an [`ApiError`] built as the handler builds it (so its `type`,
//! `title`, `status` and `code` are the real ones). An operation lists the types that apply to
//! it in its `responses(...)`; two types must not give the same status to one operation.

use std::collections::BTreeMap;

use utoipa::openapi::{self, example::ExampleBuilder, ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::IntoResponses;

use crate::error::{ApiError, Code, FieldError};

/// A problem response: `application/problem+json` with the `Problem` schema and one named
/// example per error (named by its code; a code given twice gets `_2`, ...).
pub(crate) fn problem_response(
    description: &str,
    examples: &[ApiError],
) -> RefOr<openapi::response::Response> {
    let mut content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem")));
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for e in examples {
        let n = seen.entry(e.code.as_str()).or_insert(0);
        *n += 1;
        let name = match *n {
            1 => e.code.as_str().to_string(),
            n => format!("{}_{n}", e.code.as_str()),
        };
        let value = serde_json::to_value(e.to_problem()).unwrap_or_default();
        content = content.examples_from_iter([(
            name,
            ExampleBuilder::new()
                .summary(e.code.meaning())
                .value(Some(value))
                .build(),
        )]);
    }
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", content.build())
            .build(),
    )
}

/// Declares one `IntoResponses` type per entry: `Name { "status" "description" => [errors] }`.
macro_rules! problem_responses {
    ($($(#[$doc:meta])* $name:ident { $($status:literal $desc:literal => [$($ex:expr),+ $(,)?]),+ $(,)? })+) => {
        $(
            $(#[$doc])*
            pub struct $name;
            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<openapi::response::Response>> {
                    let mut m = BTreeMap::new();
                    $( m.insert($status.to_string(), problem_response($desc, &[$($ex),+])); )+
                    m
                }
            }
        )+
    };
}

fn coded(code: Code, detail: &str) -> ApiError {
    ApiError::coded(code, detail)
}

fn field(name: &str, message: &str) -> ApiError {
    ApiError::field(name, message)
}

fn fields(code: Code, errors: &[(&str, &str)]) -> ApiError {
    ApiError::validation(
        errors
            .iter()
            .map(|(f, m)| FieldError::new(*f, *m))
            .collect(),
    )
    .with_code(code)
}

fn bad_id(field_name: &str) -> ApiError {
    field(
        field_name,
        "\"..x\" is not a backup ID: only 0-9 A-Z a-z . _ - and no '..'",
    )
}

fn unauthorized() -> ApiError {
    coded(Code::Unauthorized, "send Authorization: Bearer <token>")
}

fn unwritable(detail: &str) -> ApiError {
    coded(Code::Unavailable, detail)
}

const EX_ID: &str = "20261126T020000Z";

problem_responses! {
    /// 401 only: operations every role may call (viewer and up), so no token is too weak.
    TokenProblems {
        "401" "No token, a malformed `Authorization` header, or an unknown token (`unauthorized`)" => [unauthorized()],
    }
    /// 401 and 403 of an operation that needs the operator role.
    OperatorAuthProblems {
        "401" "No token, a malformed `Authorization` header, or an unknown token (`unauthorized`)" => [unauthorized()],
        "403" "The token's role is too weak: this needs operator or admin (`forbidden`)" => [
            coded(Code::Forbidden, "this needs the operator role; the token has viewer"),
        ],
    }
    /// 401 and 403 of an operation that needs the admin role.
    AuthProblems {
        "401" "No token, a malformed `Authorization` header, or an unknown token (`unauthorized`)" => [unauthorized()],
        "403" "The token's role is too weak: this needs admin (`forbidden`)" => [
            coded(Code::Forbidden, "this needs the admin role; the token has operator"),
        ],
    }
    /// 400, 413 and 415 of an operation with a JSON body (its 422 is its own).
    BodyProblems {
        "400" "The body is not JSON (`bad_request`)" => [
            ApiError::bad_request("malformed JSON: expected `,` or `}` at line 1 column 12"),
        ],
        "413" "The body is over 1 MiB (`payload_too_large`)" => [
            coded(Code::PayloadTooLarge, "the body is over the limit of 1048576 bytes"),
        ],
        "415" "The body is not `application/json` (`unsupported_media_type`)" => [
            coded(Code::UnsupportedMediaType, "the body must be JSON (Content-Type: application/json)"),
        ],
    }
    /// 412 and 428 of a write guarded by `If-Match`.
    PreconditionProblems {
        "412" "`If-Match` does not match the current `ETag`: another write came first; GET again (`precondition_failed`)" => [
            coded(Code::PreconditionFailed, "If-Match \"a5e28bbecda5435c93dbeaac\" does not match the current ETag \"0c9d1f7e2b3a4c5d6e7f8091\": GET again"),
        ],
        "428" "`If-Match` is missing (`precondition_required`)" => [
            coded(Code::PreconditionRequired, "send If-Match with the ETag from GET, so a concurrent change is not overwritten"),
        ],
    }
    /// 429 of an event stream.
    TooManySubscribersProblem {
        "429" "The stream has `max_stream_subscribers` subscribers already; try again when one has left (`too_many_subscribers`)" => [
            coded(Code::TooManySubscribers, "/api/v1/backups/20261126T020000Z/events has 16 subscribers already, the most max_stream_subscribers allows; try again when one has left"),
        ],
    }
    /// 503 of a write of the config file.
    ConfigUnwritableProblem {
        "503" "The config file could not be written (disk full, permissions); nothing changed (`unavailable`)" => [
            unwritable("could not write /etc/backup-master/backup-master.toml: No space left on device (os error 28)"),
        ],
    }
    /// 404 of `/components/{name}` routes.
    ComponentProblems {
        "404" "No component with this name is configured (`component_not_found`)" => [
            coded(Code::ComponentNotFound, "no component named \"lux\""),
        ],
    }
    /// 422 of `PUT /components/{name}`.
    ComponentInvalid {
        "422" "A field is invalid, e.g. a folder shared with or inside another component's, or `keep` out of range; `errors` names each (`validation_failed`)" => [
            field("keep", "must be between 0 and 100"),
            field("backup_folder", "/srv/maestro/hub/backup is the backup folder of component \"hub\" too: two components must not share a backup folder"),
        ],
    }
    /// 422 of `PUT /settings`.
    SettingsInvalid {
        "422" "A field is invalid; `errors` names each (`validation_failed`)" => [
            fields(Code::ValidationFailed, &[
                ("schedule.daily_time", "must be hh:mm between 00:00 and 23:59"),
                ("schedule.time_zone", "unknown time zone \"Europe/Berlinn\""),
            ]),
        ],
    }
    /// 422 of a list with `limit` (1 to 500) and `cursor`.
    PageQueryProblems {
        "422" "A query parameter is invalid: `limit` out of 1..500, a `cursor` that is not an ID, an unknown `status` (`validation_failed`)" => [
            field("limit", "must be between 1 and 500"),
        ],
    }
    /// 422 of `GET /audit`.
    AuditQueryProblems {
        "422" "A query parameter is invalid: `since` or `until` not RFC 3339 (or `until` not after `since`), a `token` that is not a token name, `limit` out of 1..1000, a `cursor` not from a page, or an unknown parameter (`validation_failed`)" => [
            field("since", "\"yesterday\" is not an RFC 3339 instant such as 2026-11-26T02:00:00Z"),
            field("limit", "must be a whole number between 1 and 1000"),
        ],
    }
    /// 422 of `GET /schedule/log`.
    LogQueryProblems {
        "422" "`limit` is out of 1..200, or another query parameter is given (`validation_failed`)" => [
            field("limit", "must be between 1 and 200"),
        ],
    }
    /// 422 of `GET /hook-processes`.
    HookListQueryProblems {
        "422" "`all` is not `true` or `false`, or another query parameter is given (`validation_failed`)" => [
            field("query", "invalid query: Query deserialize error: provided string was not `true` or `false`"),
        ],
    }
    /// 422 of `GET /backup-sets`.
    SetListQueryProblems {
        "422" "A filter is not `true` or `false`, or another query parameter is given (`validation_failed`)" => [
            field("successful", "\"yes\" is not a boolean: use true or false"),
        ],
    }
    /// 404 and 422 of `/backups/{id}` routes.
    BackupIdProblems {
        "404" "No backup with this ID (`backup_not_found`)" => [
            coded(Code::BackupNotFound, "no backup 20261126T020000Z"),
        ],
        "422" "The ID is not a backup ID (`validation_failed`)" => [bad_id("id")],
    }
    /// 404, 409 and 422 of `GET /backups/{id}/report`.
    ReportProblems {
        "404" "No backup with this ID, or its report file is missing (`backup_not_found`, `report_not_found`)" => [
            coded(Code::BackupNotFound, "no backup 20261126T020000Z"),
            coded(Code::ReportNotFound, "the report of backup 20261126T020000Z is missing"),
        ],
        "409" "The backup is still running: its report is written when it ends (`report_not_ready`)" => [
            coded(Code::ReportNotReady, "backup 20261126T020000Z is still running: its report is written when it ends"),
        ],
        "422" "The ID is not a backup ID (`validation_failed`)" => [bad_id("id")],
    }
    /// 409 of `POST /backups`.
    StartBackupConflict {
        "409" "The backup cannot start now: another job runs (`job_running`, `running_id` names it), a backup keeps staging folders for an operator (`staging_kept`), a restored component has not started since its restore (`restore_pending`), or no component is configured (`no_components`)" => [
            ApiError::busy("backup", EX_ID),
            ApiError::busy("restore", "R20261126T101500Z"),
            coded(Code::StagingKept, "backup 20261125T020000Z keeps staging folder(s) /srv/maestro/hub/backup.staging-20261125T020000Z for an operator (its commit could not be completed; each is the only copy of that component's backup): discard them (DELETE /api/v1/backups/20261125T020000Z/staging) before the next backup"),
            coded(Code::RestorePending, "a restore of component lui waits for the component's first start: /srv/maestro/lui/lui.ini still has the line RestoreFromBackup=/srv/maestro/lui/backup (written by restore R20261126T101500Z); the Maestro User Interface restores its database from that folder when it starts and then removes the line. Start it before the next backup: a backup now would rotate that folder away and copy a half-restored application"),
            coded(Code::NoComponents, "no components are configured"),
        ],
    }
    /// 409 of `POST /backups/{id}/cancel`.
    CancelConflict {
        "409" "The backup is not running (`backup_not_running`)" => [
            coded(Code::BackupNotRunning, "backup 20261126T020000Z is not running: it is succeeded"),
        ],
    }
    /// 409 of `DELETE /backups/{id}/staging`.
    DiscardConflict {
        "409" "The backup keeps no staging folder (`nothing_kept`), or a folder at a kept name is not provably the product's and is left alone (`staging_not_ours`)" => [
            coded(Code::NothingKept, "backup 20261126T020000Z keeps no staging folder"),
            coded(Code::StagingNotOurs, "/srv/maestro/hub/backup.staging-20261126T020000Z: its readme.txt names backup 20261125T020000Z of hub, not 20261126T020000Z of hub; left alone"),
        ],
    }
    /// 404 and 422 of `/backup-sets/{id}` routes.
    SetIdProblems {
        "404" "No backup set with this ID on disk (`set_not_found`)" => [
            coded(Code::SetNotFound, "no backup set 20261126T020000Z on disk"),
        ],
        "422" "The ID is not a backup ID (`validation_failed`)" => [bad_id("id")],
    }
    /// 404 and 422 of `/backup-sets/{id}/verifications/{verification_id}`.
    VerificationIdProblems {
        "404" "No verification with this ID of this set (`verification_not_found`)" => [
            coded(Code::VerificationNotFound, "no verification 20261126T080000Z-0001 of backup set 20261126T020000Z"),
        ],
        "422" "An ID is not a backup or verification ID (`validation_failed`)" => [bad_id("verification_id")],
    }
    /// 409 and 503 of `POST /backup-sets/{id}/verify`.
    VerifyProblems {
        "409" "A backup runs (its commit moves slots: verify after it ends), or another verification runs; `running_id` names it (`job_running`)" => [
            {
                let mut e = ApiError::busy("backup", EX_ID);
                e.detail = format!("backup {EX_ID} is running; its commit moves slots, so verify after it ends");
                e
            },
            ApiError::busy("verification", "20261126T080000Z-0001"),
        ],
        "503" "The verification could not be recorded (state folder not writable) (`unavailable`)" => [
            unwritable("could not record the verification: writing /var/lib/backup-master/verifications/20261126T080000Z-0001.json: No space left on device (os error 28)"),
        ],
    }
    /// 422 and 503 of `POST /backup-sets/import`.
    ImportProblems {
        "422" "The folder cannot be registered: no `readme.txt`, a backup of another component, one of the component's own slots, not absolute; `errors` names `component` or `folder` (`validation_failed`)" => [
            field("folder", "/mnt/tape/lui/backup has no readme.txt, so it is not a backup folder"),
            field("component", "/mnt/tape/lui/backup holds a backup of component \"hub\", not of \"lui\" (its readme.txt says so)"),
        ],
        "503" "The registration could not be saved (`unavailable`)" => [
            unwritable("could not save the import: writing /var/lib/backup-master/imports.json: No space left on device (os error 28)"),
        ],
    }
    /// 404, 409, 422 and 503 of `POST /restores`.
    RestoreProblems {
        "404" "No backup set with this ID on disk, and no `source_folders` given (`set_not_found`)" => [
            coded(Code::SetNotFound, "no backup set 20261126T020000Z on disk"),
        ],
        "409" "A backup or restore runs (`job_running`, `running_id` names it), a home is in a state no restore can work on (`home_not_restorable`), or a remote component's agent could not plan (`agent_unreachable`)" => [
            ApiError::busy("backup", "20261126T120000Z"),
            coded(Code::HomeNotRestorable, "cannot restore: lui: /srv/maestro/lui/.pre-restore-R20261126T101500Z exists and is not this restore's"),
            coded(Code::AgentUnreachable, "cannot restore: trk: agent http://10.0.0.7:9090 is unreachable: connection refused"),
        ],
        "422" "The request or the set is refused; `errors` names each field: the request itself (`validation_failed`), a component with no folder in the set (`set_incomplete`), a component whose backup failed (`set_failed`), a folder that does not verify (`set_not_verified`), an agent that refused (`agent_refused`)" => [
            fields(Code::ValidationFailed, &[("components[1]", "unknown component \"lux\"; configured: hub, lui, trk")]),
            fields(Code::SetIncomplete, &[("backup_id", "backup set 20261126T020000Z is incomplete: it has no folder for component \"trk\" (restore the other components with `components`, or give its folder in `source_folders`)")]),
            fields(Code::SetFailed, &[("backup_id", "the backup of component \"trk\" in /srv/maestro/tracker/backup1 did not succeed (Result: failure): disk full")]),
            fields(Code::SetNotVerified, &[("backup_id", "/srv/maestro/hub/backup (hub) does not verify against its SHA256SUMS: changed: accountreg/accounts.dat")]),
            fields(Code::AgentRefused, &[("backup_id", "trk: agent http://10.0.0.7:9090 refused the master's token for component trk (401: the token is not valid); check agent_token_file or BACKUP_MASTER_AGENT_TOKEN_TRK")]),
        ],
        "503" "The restore could not be recorded (state folder not writable) (`unavailable`)" => [
            unwritable("could not record the restore: writing /var/lib/backup-master/restores/R20261126T101500Z.json: No space left on device (os error 28)"),
        ],
    }
    /// 404 and 422 of `/restores/{id}`.
    RestoreIdProblems {
        "404" "No restore with this ID (`restore_not_found`)" => [
            coded(Code::RestoreNotFound, "no restore R20261126T101500Z"),
        ],
        "422" "The ID is not a restore ID (`validation_failed`)" => [bad_id("id")],
    }
    /// 404 and 422 of `/hook-processes/{id}` routes.
    HookIdProblems {
        "404" "No hook process with this ID (`hook_process_not_found`)" => [
            coded(Code::HookProcessNotFound, "no hook process 20261126T020004.512Z-1a2b3c4d"),
        ],
        "422" "The ID is not a process ID, or `Last-Event-ID` is not a line number (`validation_failed`)" => [
            bad_id("id"),
            field("Last-Event-ID", "must be a line number"),
        ],
    }
    /// 409 and 422 of `POST /hook-processes`.
    HookTestProblems {
        "409" "The hooks' `work_folder` does not exist (`work_folder_missing`)" => [
            coded(Code::WorkFolderMissing, "work folder /srv/scripts does not exist or is not a directory"),
        ],
        "422" "The command of that hook is empty or cannot be split into arguments; or the body names no known hook (`validation_failed`)" => [
            field("hook", "the on_success command is empty: there is nothing to run"),
        ],
    }
    /// 404 of `/notification-targets/{name}` routes.
    NotificationTargetProblems {
        "404" "No notification target with this name is configured (`notification_target_not_found`)" => [
            coded(Code::NotificationTargetNotFound, "no notification target named \"ops-hook\" (PUT with If-Match: * creates one)"),
        ],
    }
    /// 422 of `PUT /notification-targets/{name}`.
    NotificationTargetInvalid {
        "422" "A field is invalid: an unknown kind or event name, a URL that is not http(s), a secret file that cannot be read, an SMTP port out of range, a key of another kind; `errors` names each (`validation_failed`)" => [
            fields(Code::ValidationFailed, &[
                ("events[1]", "unknown event \"backup_exploded\"; one of backup_started, backup_succeeded, backup_failed, backup_cancelled, backup_interrupted, restore_ended, verification_failed, hook_failed, agent_unreachable, agent_reachable, overdue"),
                ("secret_file", "cannot read /etc/backup-master/webhook.secret: No such file or directory (os error 2)"),
            ]),
            field("smtp_port", "must be between 1 and 65535"),
        ],
    }
    /// 404 of `/replication-targets/{name}` routes.
    ReplicationTargetProblems {
        "404" "No replication target with this name is configured (`replication_target_not_found`)" => [
            coded(Code::ReplicationTargetNotFound, "no replication target named \"offsite\" (PUT with If-Match: * creates one)"),
        ],
    }
    /// 422 of `PUT /replication-targets/{name}`.
    ReplicationTargetInvalid {
        "422" "A field is invalid: an endpoint that is not http(s), a bucket name S3 refuses, a key file that cannot be read or given alone, an unknown mode, `concurrency` out of 1..64, a setting this version does not offer; `errors` names each (`validation_failed`)" => [
            fields(Code::ValidationFailed, &[
                ("endpoint", "must be an http or https URL with a host"),
                ("secret_key_file", "is required with access_key_file"),
            ]),
            field("concurrency", "must be between 1 and 64"),
        ],
    }
    /// 404, 409 and 422 of `POST /replication-targets/{name}/replicate`.
    ReplicateProblems {
        "404" "No such replication target, or no such backup set on disk (`replication_target_not_found`, `set_not_found`)" => [
            coded(Code::ReplicationTargetNotFound, "no replication target named \"offsite\""),
            coded(Code::SetNotFound, "no backup set 20261126T020000Z on disk"),
        ],
        "409" "Another job runs (`job_running`, `running_id` names it), or the set cannot be replicated (`set_not_replicable`)" => [
            ApiError::busy("backup", EX_ID),
            coded(Code::SetNotReplicable, "backup set 20261126T020000Z is not complete and successful: only such sets are replicated"),
        ],
        "422" "`backup_id` is not a backup ID, or another field is given (`validation_failed`)" => [bad_id("backup_id")],
    }
    /// 404 and 409 of `GET /replication-targets/{name}/sets`.
    RemoteSetsProblems {
        "404" "No replication target with this name is configured (`replication_target_not_found`)" => [
            coded(Code::ReplicationTargetNotFound, "no replication target named \"offsite\""),
        ],
        "409" "The target's store could not be listed: unreachable, credentials refused, no such bucket (`replication_target_failed`)" => [
            coded(Code::ReplicationTargetFailed, "replication target offsite: listing sets/ of \"maestro-offsite\": not found: does the bucket \"maestro-offsite\" exist?"),
        ],
    }
    /// 404 and 422 of `POST /replication-targets/{name}/sets/{id}/verify`.
    RemoteVerifyProblems {
        "404" "No replication target with this name is configured (`replication_target_not_found`)" => [
            coded(Code::ReplicationTargetNotFound, "no replication target named \"offsite\""),
        ],
        "422" "`id` is not a backup ID, or the body has another field (`validation_failed`)" => [bad_id("id")],
    }
    /// 404 and 422 of `/replications/{id}` routes.
    ReplicationIdProblems {
        "404" "No replication with this ID (`replication_not_found`)" => [
            coded(Code::ReplicationNotFound, "no replication C20261126T020500Z"),
        ],
        "422" "The ID is not a job ID (`validation_failed`)" => [bad_id("id")],
    }
    /// 409 of `POST /replications/{id}/cancel`.
    ReplicationCancelConflict {
        "409" "The replication is not running (`replication_not_running`)" => [
            coded(Code::ReplicationNotRunning, "replication C20261126T020500Z is not running"),
        ],
    }
    /// 422 of `GET /notifications/deliveries`.
    DeliveryQueryProblems {
        "422" "A query parameter is invalid: `limit` out of 1..500, a `cursor` that is not an ID, an unknown `status`, a `target` that is not a target name (`validation_failed`)" => [
            field("limit", "must be between 1 and 500"),
            field("target", "\"Ops Hook\" is not a target name: 1 to 32 of a-z, 0-9, '_' and '-'"),
        ],
    }
    /// 409 of `DELETE /hook-processes/{id}`.
    HookNotRunningProblem {
        "409" "The process is not running (`hook_not_running`)" => [
            coded(Code::HookNotRunning, "hook process 20261126T020004.512Z-1a2b3c4d is not running (status exited)"),
        ],
    }
}

// The agent's document (`crate::agent::api`).
problem_responses! {
    /// 404 of an agent route naming a component.
    AgentComponentProblems {
        "404" "This agent does not serve the component (`not_found`)" => [
            ApiError::not_found("this agent does not serve component \"trx\""),
        ],
    }
    /// 404 of the agent's drill output and cancel.
    AgentDrillProblems {
        "404" "This agent does not serve the component, or knows no such drill of it (`not_found`)" => [
            ApiError::not_found("no drill D20261201T040000Z of component \"trk\" is known to this agent"),
        ],
        "422" "`after` is not a line number (`validation_failed`)" => [
            field("after", "invalid digit found in string"),
        ],
    }
    /// 404 of an agent route naming a backup of a component.
    AgentTxnProblems {
        "404" "This agent does not serve the component, or knows no such backup of it (`not_found`)" => [
            ApiError::not_found("this agent does not serve component \"trx\""),
            ApiError::not_found("no backup \"20261126T020000Z\" of component \"trk\" on this agent"),
        ],
    }
    /// 409, 422 and 503 of the agent's replication calls.
    AgentReplicationProblems {
        "409" "The upload was cancelled, or the slot or the bucket is not what it should be (`conflict`)" => [
            ApiError::conflict("cancelled by the master"),
            ApiError::conflict("replication target offsite: blob blobs/9f/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 has 12 bytes, its content has 73400320: left alone; remove it by hand after checking"),
        ],
        "422" "The ID, the source or the target is invalid, or the slot does not hold that successful backup; `errors` names each (`validation_failed`)" => [
            fields(Code::ValidationFailed, &[("target.concurrency", "must be 1 to 64")]),
            fields(Code::ValidationFailed, &[("source.backup_id", "slot /srv/maestro/tracker/backup holds backup 20261130T020000Z, not 20261201T020000Z")]),
        ],
        "503" "The store failed or could not be reached (`unavailable`)" => [
            ApiError::new(crate::error::ProblemKind::Unavailable, "replication target offsite: listing blobs/ of \"maestro-offsite\": Generic S3 error: error sending request"),
        ],
    }
    /// 422 of an agent call that carries the master's settings of a component.
    AgentSpecInvalid {
        "422" "The ID or the settings are invalid (a profile other than the agent's, a `backup_folder` with `..`, `keep` out of range); `errors` names each (`validation_failed`)" => [
            fields(Code::ValidationFailed, &[("profile", "the agent's config gives component \"trk\" the profile maestro-tracker, not maestro-hub")]),
        ],
    }
    /// 409 and 503 of the agent's prepare.
    AgentPrepareProblems {
        "409" "This backup is already known here, another backup or a restore of the component is open (prepared, applied, in doubt, ...), or a restored component has not started since (`conflict`)" => [
            ApiError::conflict("backup 20261126T020000Z of component trk is already known here (Prepared)"),
            ApiError::conflict("backup 20261125T020000Z of component trk is in doubt on this agent and waits for the master's decision (or an operator's: backup-master agent resolve); one backup or restore of a component at a time"),
        ],
        "503" "The backup could not be recorded on this agent (`unavailable`)" => [
            unwritable("could not record the backup on this agent: writing /var/lib/backup-agent/txns/trk/20261126T020000Z.json: No space left on device (os error 28)"),
        ],
    }
    /// 409 and 503 of the agent's commit.
    AgentCommitProblems {
        "409" "Not committable: still preparing, failed, or aborted (by the master, or by an operator on this machine) (`conflict`)" => [
            ApiError::conflict("backup 20261126T020000Z of component trk is still being prepared"),
            ApiError::conflict("backup 20261126T020000Z of component trk cannot be committed: it is Aborted on this agent (by an operator: backup-master agent resolve)"),
        ],
        "503" "The rotation failed or could not be recorded; the master retries (`unavailable`)" => [
            unwritable("commit failed: renaming /srv/maestro/tracker/backup to /srv/maestro/tracker/backup1: No space left on device (os error 28)"),
        ],
    }
    /// 409 and 503 of the agent's abort.
    AgentAbortProblems {
        "409" "The backup is already committed (`conflict`)" => [
            ApiError::conflict("backup 20261126T020000Z of component trk is already committed"),
        ],
        "503" "The abort failed or could not be recorded; the master retries (`unavailable`)" => [
            unwritable("abort failed: removing /srv/maestro/tracker/backup.staging-20261126T020000Z: Device or resource busy (os error 16)"),
        ],
    }
    /// 422 of the agent's history.
    AgentHistoryQueryProblems {
        "422" "`backup_folder` is missing or invalid, or `keep` is out of range (`validation_failed`)" => [
            field("backup_folder", "missing field `backup_folder`"),
        ],
    }
    /// 422 of the agent's verify.
    AgentVerifyInvalid {
        "422" "The slot is not a history slot of the backup folder, or the folder is invalid (`validation_failed`)" => [
            field("slot", "\"backup9x\" is not a history slot of \"backup\""),
        ],
    }
    /// 409 and 422 of the agent's restore plan and apply.
    AgentRestoreProblems {
        "409" "The home is not in a state a restore can work on, the apply failed and was rolled back, or another restore of the component waits for its decision (`conflict`)" => [
            ApiError::conflict("cannot restore trk: /srv/maestro/tracker/.pre-restore-R20261126T101500Z exists and is not this restore's"),
            ApiError::conflict("the restore of trk failed on this agent and was rolled back: copying data/: No space left on device (os error 28)"),
            ApiError::conflict("restore R20261125T101500Z of trk is in doubt on this agent and waits for the master's decision; one backup or restore of a component at a time"),
        ],
        "422" "The slot does not hold that backup, its backup did not succeed, it does not verify, or an ID is invalid (`validation_failed`)" => [
            field("backup_id", "slot /srv/maestro/tracker/backup1 holds backup 20261125T020000Z, not 20261126T020000Z"),
            field("slot", "component \"trk\" has no history slot \"backup7\""),
        ],
    }
    /// 404 and 409 of the agent's restore commit.
    AgentRestoreCommitProblems {
        "404" "This agent has no such restore of the component (`not_found`)" => [
            ApiError::not_found("this agent has no restore R20261126T101500Z of trk"),
        ],
        "409" "The restore was rolled back on this agent (`conflict`)" => [
            ApiError::conflict("restore R20261126T101500Z of trk was not committed: it is rolled_back on this agent (by an operator: backup-master agent resolve)"),
        ],
    }
    /// 404 of an agent route naming a restore of a component.
    AgentRestoreStatusProblems {
        "404" "This agent does not serve the component, or has no such restore of it (`not_found`)" => [
            ApiError::not_found("this agent does not serve component \"trx\""),
            ApiError::not_found("this agent has no restore R20261126T101500Z of trk"),
        ],
    }
    /// 503 of the agent's renewals.
    AgentRenewProblems {
        "503" "The renewal could not be recorded on this agent; the master retries (`unavailable`)" => [
            unwritable("could not record the renewal on this agent: writing /var/lib/backup-agent/txns/trk/20261126T020000Z.json: No space left on device (os error 28)"),
        ],
    }
    /// 404 and 409 of the agent's restore rollback.
    AgentRestoreRollbackProblems {
        "404" "This agent does not serve the component (`not_found`)" => [
            ApiError::not_found("this agent does not serve component \"trx\""),
        ],
        "409" "The restore was committed on this agent (`conflict`)" => [
            ApiError::conflict("restore R20261126T101500Z of trk was committed on this agent; it cannot be rolled back"),
        ],
    }
}

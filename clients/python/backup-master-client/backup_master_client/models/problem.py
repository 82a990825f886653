from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.field_error import FieldError


T = TypeVar("T", bound="Problem")


@_attrs_define
class Problem:
    """An RFC 9457 problem document, as every error response carries it.

    Attributes:
        code (str): The stable domain code of this problem, finer than `type`; new codes may be added. Codes, with their
            status and `type`:

            | code | status | type | meaning |
            |---|---|---|---|
            | `bad_request` | 400 | `/problems/bad-request` | The request could not be read: malformed JSON, an unreadable
            body. |
            | `unauthorized` | 401 | `/problems/unauthorized` | No token, a malformed `Authorization` header, or an unknown
            token. |
            | `forbidden` | 403 | `/problems/forbidden` | The token's role is too weak for this operation. |
            | `not_found` | 404 | `/problems/not-found` | No such route, or no such resource of this server. |
            | `method_not_allowed` | 405 | `/problems/method-not-allowed` | The path exists, not with this method; `Allow`
            lists its methods. |
            | `not_acceptable` | 406 | `/problems/not-acceptable` | The server cannot answer in a format the `Accept` header
            allows. |
            | `conflict` | 409 | `/problems/conflict` | The current state of the resource forbids the operation. |
            | `validation_failed` | 422 | `/problems/validation` | A field of the request is invalid; `errors` names each
            one. |
            | `precondition_failed` | 412 | `/problems/precondition-failed` | `If-Match` does not match the current `ETag`:
            GET again. |
            | `precondition_required` | 428 | `/problems/precondition-required` | `If-Match` is missing (`*` writes
            unconditionally). |
            | `payload_too_large` | 413 | `/problems/payload-too-large` | The body is over 1 MiB. |
            | `unsupported_media_type` | 415 | `/problems/unsupported-media-type` | The body is not `application/json`. |
            | `too_many_subscribers` | 429 | `/problems/too-many-subscribers` | The event stream has
            `max_stream_subscribers` subscribers already. |
            | `internal` | 500 | `/problems/internal` | The server failed; the cause is in its log. |
            | `unavailable` | 503 | `/problems/unavailable` | The server could not write its files (disk full, permissions);
            retry once fixed. |
            | `job_running` | 409 | `/problems/job-running` | A backup, restore, restore drill, replication or verification
            is running; `running_id` names it. One job runs at a time. |
            | `staging_kept` | 409 | `/problems/staging-kept` | A backup keeps staging folders for an operator (the only
            copy after a commit that could not complete); discard them first. |
            | `restore_pending` | 409 | `/problems/restore-pending` | A restored component has not started since its
            restore; backups wait for it. |
            | `no_components` | 409 | `/problems/conflict` | No components are configured. |
            | `backup_not_found` | 404 | `/problems/not-found` | No backup with this ID. |
            | `backup_not_running` | 409 | `/problems/conflict` | The backup is not running (it has ended). |
            | `report_not_ready` | 409 | `/problems/conflict` | The backup is still running; its report is written when it
            ends. |
            | `report_not_found` | 404 | `/problems/not-found` | The backup has ended but its report file is missing. |
            | `nothing_kept` | 409 | `/problems/conflict` | The backup keeps no staging folder. |
            | `staging_not_ours` | 409 | `/problems/conflict` | A folder at a kept staging name is not provably the
            product's: left alone. |
            | `component_not_found` | 404 | `/problems/not-found` | No component with this name is configured. |
            | `set_not_found` | 404 | `/problems/not-found` | No backup set with this ID on disk. |
            | `set_incomplete` | 422 | `/problems/validation` | The backup set has no folder for a component to restore;
            `errors` names it. |
            | `set_failed` | 422 | `/problems/validation` | The backup of a component to restore did not succeed in this
            set; `errors` names it. |
            | `set_not_verified` | 422 | `/problems/validation` | A folder to restore does not verify against its
            `SHA256SUMS`; `errors` names the files. |
            | `verification_not_found` | 404 | `/problems/not-found` | No verification with this ID for this backup set. |
            | `restore_not_found` | 404 | `/problems/not-found` | No restore with this ID. |
            | `drill_not_found` | 404 | `/problems/not-found` | No restore drill with this ID. |
            | `drill_not_running` | 409 | `/problems/conflict` | The restore drill is not running (it has ended). |
            | `home_not_restorable` | 409 | `/problems/conflict` | A component's home is in a state no restore can work on.
            |
            | `undo_unavailable` | 409 | `/problems/conflict` | The restore cannot be undone: a dry run, or not succeeded. |
            | `restore_superseded` | 409 | `/problems/conflict` | A later restore or undo changed a component of this
            restore: it cannot be undone. |
            | `safety_copy_gone` | 409 | `/problems/conflict` | The restore's safety copy was discarded (or never kept, or
            changed since): it cannot be undone. |
            | `agent_unreachable` | 409 | `/problems/conflict` | A remote component's agent did not answer (or answered no
            usable result). |
            | `agent_refused` | 422 | `/problems/validation` | A remote component's agent refused the call (token, role,
            component or settings); `errors` names the component. |
            | `hook_process_not_found` | 404 | `/problems/not-found` | No hook process with this ID. |
            | `hook_not_running` | 409 | `/problems/conflict` | The hook process is not running. |
            | `work_folder_missing` | 409 | `/problems/conflict` | The hooks' `work_folder` does not exist. |
            | `audit_unavailable` | 503 | `/problems/unavailable` | The request was carried out but its audit line could not
            be written (disk full, permissions); `detail` says what it answered. Fix the disk before going on. |
            | `notification_target_not_found` | 404 | `/problems/not-found` | No notification target with this name is
            configured. |
            | `replication_target_not_found` | 404 | `/problems/not-found` | No replication target with this name is
            configured. |
            | `replication_not_found` | 404 | `/problems/not-found` | No replication with this ID. |
            | `replication_not_running` | 409 | `/problems/conflict` | The replication is not running (it has ended). |
            | `set_not_replicable` | 409 | `/problems/conflict` | The backup set cannot be replicated: not complete and
            successful, no successful set at all, or a component on an agent. |
            | `replication_target_failed` | 409 | `/problems/conflict` | The replication target's store could not be
            reached, refused the credentials, or has no such bucket; `detail` names the target. |
        detail (str): What happened, in words for this occurrence. Example: schedule.daily_time: must be hh:mm between
            00:00 and 23:59.
        status (int): The HTTP status code. Example: 422.
        title (str): A short summary of the kind of problem. Example: Validation failed.
        type_ (str): A URI reference naming the kind of problem; stable, one per kind. Example: /problems/validation.
        errors (list[FieldError] | Unset): For validation problems: each invalid field.
        running_id (None | str | Unset): For conflicts with a running job: its ID. Example: 20261126T020000Z.
    """

    code: str
    detail: str
    status: int
    title: str
    type_: str
    errors: list[FieldError] | Unset = UNSET
    running_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        code = self.code

        detail = self.detail

        status = self.status

        title = self.title

        type_ = self.type_

        errors: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = []
            for errors_item_data in self.errors:
                errors_item = errors_item_data.to_dict()
                errors.append(errors_item)

        running_id: None | str | Unset
        if isinstance(self.running_id, Unset):
            running_id = UNSET
        else:
            running_id = self.running_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "code": code,
                "detail": detail,
                "status": status,
                "title": title,
                "type": type_,
            }
        )
        if errors is not UNSET:
            field_dict["errors"] = errors
        if running_id is not UNSET:
            field_dict["running_id"] = running_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.field_error import FieldError  # noqa: PLC0415

        d = dict(src_dict)
        code = d.pop("code")

        detail = d.pop("detail")

        status = d.pop("status")

        title = d.pop("title")

        type_ = d.pop("type")

        _errors = d.pop("errors", UNSET)
        errors: list[FieldError] | Unset = UNSET
        if _errors is not UNSET:
            errors = []
            for errors_item_data in _errors:
                errors_item = FieldError.from_dict(errors_item_data)

                errors.append(errors_item)

        def _parse_running_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        running_id = _parse_running_id(d.pop("running_id", UNSET))

        problem = cls(
            code=code,
            detail=detail,
            status=status,
            title=title,
            type_=type_,
            errors=errors,
            running_id=running_id,
        )

        problem.additional_properties = d
        return problem

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties

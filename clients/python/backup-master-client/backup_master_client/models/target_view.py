from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.target_view_headers import TargetViewHeaders


T = TypeVar("T", bound="TargetView")


@_attrs_define
class TargetView:
    """A notification target as the API shows it: its name and settings. Secrets appear only as
    the paths of the files holding them.

        Attributes:
            kind (str): `webhook` (POST of the event as JSON), `email` (SMTP) or `ping` (healthchecks.io-style
                URLs). Example: webhook.
            name (str):  Example: ops-webhook.
            events (list[str] | Unset): Matcher: the events sent (`backup_started`, `backup_succeeded`, `backup_failed`,
                `backup_cancelled`, `backup_interrupted`, `restore_ended`, `verification_failed`,
                `hook_failed`, `agent_unreachable`, `agent_reachable`, `overdue`). Example: ['backup_failed', 'overdue'].
            fail_url (None | str | Unset): ping, instead of `url`: the URL pinged for warnings and errors.
            from_ (None | str | Unset): email: the sender, `backup@example.com` or `Backups <backup@example.com>`. Example:
                backup-master <backup@example.com>.
            headers (TargetViewHeaders | Unset): webhook: more headers sent with each POST. Example: {'X-Team': 'ops'}.
            min_severity (None | str | Unset): Matcher: the least severity sent: `info`, `warning` or `error`. Example:
                warning.
            mode (None | str | Unset): Matcher, when both `events` and `min_severity` are given: `all` (default; an event
                must pass both) or `any` (one is enough). With neither, warnings and errors are sent. Example: all.
            password_file (None | str | Unset): email: file holding the SMTP password.
            secret_file (None | str | Unset): webhook: file holding the HMAC-SHA256 key; the body's signature is then sent
                as
                `sha256=<hex>` in `signature_header`. Absolute, or relative to the config file's folder. Example: /etc/backup-
                master/webhook.secret.
            signature_header (None | str | Unset): webhook: the signature's header (default `X-Backup-Master-Signature`).
            smtp_host (None | str | Unset): email: the SMTP server. Example: smtp.example.com.
            smtp_port (int | None | Unset): email: 1 to 65535; default 587 (starttls), 465 (tls) or 25 (none). Example: 587.
            start_url (None | str | Unset): ping, instead of `url`: the URL pinged when a backup starts (optional).
            success_url (None | str | Unset): ping, instead of `url`: the URL pinged for info events (a success).
            timeout_seconds (int | None | Unset): Seconds one attempt may take, 1 to 300 (default 10). Example: 10.
            tls (None | str | Unset): email: `starttls` (default), `tls` (implicit TLS) or `none` (plain; only for a server
                on
                this machine). Example: starttls.
            to (list[str] | Unset): email: the recipients (one at least). Example: ['ops@example.com'].
            url (None | str | Unset): webhook: the URL the event is POSTed to. ping: the check's URL; success pings it,
                `<url>/start` and `<url>/fail` the other states. http or https. Example: https://hooks.example.com/backup.
            username (None | str | Unset): email: the SMTP user; needs `password_file`.
    """

    kind: str
    name: str
    events: list[str] | Unset = UNSET
    fail_url: None | str | Unset = UNSET
    from_: None | str | Unset = UNSET
    headers: TargetViewHeaders | Unset = UNSET
    min_severity: None | str | Unset = UNSET
    mode: None | str | Unset = UNSET
    password_file: None | str | Unset = UNSET
    secret_file: None | str | Unset = UNSET
    signature_header: None | str | Unset = UNSET
    smtp_host: None | str | Unset = UNSET
    smtp_port: int | None | Unset = UNSET
    start_url: None | str | Unset = UNSET
    success_url: None | str | Unset = UNSET
    timeout_seconds: int | None | Unset = UNSET
    tls: None | str | Unset = UNSET
    to: list[str] | Unset = UNSET
    url: None | str | Unset = UNSET
    username: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind

        name = self.name

        events: list[str] | Unset = UNSET
        if not isinstance(self.events, Unset):
            events = self.events

        fail_url: None | str | Unset
        if isinstance(self.fail_url, Unset):
            fail_url = UNSET
        else:
            fail_url = self.fail_url

        from_: None | str | Unset
        if isinstance(self.from_, Unset):
            from_ = UNSET
        else:
            from_ = self.from_

        headers: dict[str, Any] | Unset = UNSET
        if not isinstance(self.headers, Unset):
            headers = self.headers.to_dict()

        min_severity: None | str | Unset
        if isinstance(self.min_severity, Unset):
            min_severity = UNSET
        else:
            min_severity = self.min_severity

        mode: None | str | Unset
        if isinstance(self.mode, Unset):
            mode = UNSET
        else:
            mode = self.mode

        password_file: None | str | Unset
        if isinstance(self.password_file, Unset):
            password_file = UNSET
        else:
            password_file = self.password_file

        secret_file: None | str | Unset
        if isinstance(self.secret_file, Unset):
            secret_file = UNSET
        else:
            secret_file = self.secret_file

        signature_header: None | str | Unset
        if isinstance(self.signature_header, Unset):
            signature_header = UNSET
        else:
            signature_header = self.signature_header

        smtp_host: None | str | Unset
        if isinstance(self.smtp_host, Unset):
            smtp_host = UNSET
        else:
            smtp_host = self.smtp_host

        smtp_port: int | None | Unset
        if isinstance(self.smtp_port, Unset):
            smtp_port = UNSET
        else:
            smtp_port = self.smtp_port

        start_url: None | str | Unset
        if isinstance(self.start_url, Unset):
            start_url = UNSET
        else:
            start_url = self.start_url

        success_url: None | str | Unset
        if isinstance(self.success_url, Unset):
            success_url = UNSET
        else:
            success_url = self.success_url

        timeout_seconds: int | None | Unset
        if isinstance(self.timeout_seconds, Unset):
            timeout_seconds = UNSET
        else:
            timeout_seconds = self.timeout_seconds

        tls: None | str | Unset
        if isinstance(self.tls, Unset):
            tls = UNSET
        else:
            tls = self.tls

        to: list[str] | Unset = UNSET
        if not isinstance(self.to, Unset):
            to = self.to

        url: None | str | Unset
        if isinstance(self.url, Unset):
            url = UNSET
        else:
            url = self.url

        username: None | str | Unset
        if isinstance(self.username, Unset):
            username = UNSET
        else:
            username = self.username

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "name": name,
            }
        )
        if events is not UNSET:
            field_dict["events"] = events
        if fail_url is not UNSET:
            field_dict["fail_url"] = fail_url
        if from_ is not UNSET:
            field_dict["from"] = from_
        if headers is not UNSET:
            field_dict["headers"] = headers
        if min_severity is not UNSET:
            field_dict["min_severity"] = min_severity
        if mode is not UNSET:
            field_dict["mode"] = mode
        if password_file is not UNSET:
            field_dict["password_file"] = password_file
        if secret_file is not UNSET:
            field_dict["secret_file"] = secret_file
        if signature_header is not UNSET:
            field_dict["signature_header"] = signature_header
        if smtp_host is not UNSET:
            field_dict["smtp_host"] = smtp_host
        if smtp_port is not UNSET:
            field_dict["smtp_port"] = smtp_port
        if start_url is not UNSET:
            field_dict["start_url"] = start_url
        if success_url is not UNSET:
            field_dict["success_url"] = success_url
        if timeout_seconds is not UNSET:
            field_dict["timeout_seconds"] = timeout_seconds
        if tls is not UNSET:
            field_dict["tls"] = tls
        if to is not UNSET:
            field_dict["to"] = to
        if url is not UNSET:
            field_dict["url"] = url
        if username is not UNSET:
            field_dict["username"] = username

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.target_view_headers import TargetViewHeaders  # noqa: PLC0415

        d = dict(src_dict)
        kind = d.pop("kind")

        name = d.pop("name")

        events = cast(list[str], d.pop("events", UNSET))

        def _parse_fail_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        fail_url = _parse_fail_url(d.pop("fail_url", UNSET))

        def _parse_from_(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        from_ = _parse_from_(d.pop("from", UNSET))

        _headers = d.pop("headers", UNSET)
        headers: TargetViewHeaders | Unset
        if isinstance(_headers, Unset):
            headers = UNSET
        else:
            headers = TargetViewHeaders.from_dict(_headers)

        def _parse_min_severity(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        min_severity = _parse_min_severity(d.pop("min_severity", UNSET))

        def _parse_mode(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        mode = _parse_mode(d.pop("mode", UNSET))

        def _parse_password_file(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        password_file = _parse_password_file(d.pop("password_file", UNSET))

        def _parse_secret_file(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        secret_file = _parse_secret_file(d.pop("secret_file", UNSET))

        def _parse_signature_header(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        signature_header = _parse_signature_header(d.pop("signature_header", UNSET))

        def _parse_smtp_host(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        smtp_host = _parse_smtp_host(d.pop("smtp_host", UNSET))

        def _parse_smtp_port(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        smtp_port = _parse_smtp_port(d.pop("smtp_port", UNSET))

        def _parse_start_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        start_url = _parse_start_url(d.pop("start_url", UNSET))

        def _parse_success_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        success_url = _parse_success_url(d.pop("success_url", UNSET))

        def _parse_timeout_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        timeout_seconds = _parse_timeout_seconds(d.pop("timeout_seconds", UNSET))

        def _parse_tls(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tls = _parse_tls(d.pop("tls", UNSET))

        to = cast(list[str], d.pop("to", UNSET))

        def _parse_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        url = _parse_url(d.pop("url", UNSET))

        def _parse_username(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        username = _parse_username(d.pop("username", UNSET))

        target_view = cls(
            kind=kind,
            name=name,
            events=events,
            fail_url=fail_url,
            from_=from_,
            headers=headers,
            min_severity=min_severity,
            mode=mode,
            password_file=password_file,
            secret_file=secret_file,
            signature_header=signature_header,
            smtp_host=smtp_host,
            smtp_port=smtp_port,
            start_url=start_url,
            success_url=success_url,
            timeout_seconds=timeout_seconds,
            tls=tls,
            to=to,
            url=url,
            username=username,
        )

        return target_view

"""Before the first conversation: is the target there, and does it know every form?

One dry-run session per form the suites use. A run against a form id the target does not know,
or with credentials it refuses, would make every conversation an error (and print one line per
conversation); a target that cannot be reached would spend every conversation's retries. The
preflight says so once, before anything else is sent, quoting the target's answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from evalkit.errors import TargetError, UsageError, WixApiError
from evalkit.runner.settings import RunSettings, client_for, redactor_for
from evalkit.runner.target import Target

__all__ = ["preflight"]


async def preflight(
    target: Target,
    forms: Iterable[str],
    settings: RunSettings,
    *,
    transport: object = None,
) -> int:
    """Create one dry-run session per form key; return how many were checked.

    Args:
        target: What the run talks to (its form-id map applies).
        forms: The form keys of the suites.
        settings: The run's retries, limits and deadlines.
        transport: An httpx2 async transport instead of the network (for tests).

    Raises:
        UsageError: The target refused a form (it does not know it, or the credentials), with
            the form key, the id sent and the target's answer (secrets redacted).
        TargetError: The target could not be reached or did not answer (a run cannot measure).
    """
    keys = sorted(set(forms))
    async with client_for(target, settings, transport=transport, max_connections=1) as client:
        redactor = redactor_for(target, client)
        for key in keys:
            form_id = target.form_ids.get(key, key)
            sent = key if form_id == key else f"{key} (sent as {form_id})"
            try:
                created = await client.create_session(form_id, dry_run=True)
            except WixApiError as exc:
                if 400 <= exc.status < 500 and exc.status not in (408, 429):
                    raise UsageError(
                        f"preflight: {target.base_url} refused form {sent}: "
                        f"{redactor.text(str(exc))}"
                    ) from None
                raise TargetError(
                    f"preflight: form {sent}: {redactor.text(str(exc))}", kind=exc.kind
                ) from None
            except TargetError as exc:
                raise TargetError(
                    f"preflight: {target.base_url} could not be reached for form {sent} "
                    f"({exc.kind}): {redactor.text(str(exc))}",
                    kind=exc.kind,
                ) from None
            if not created.session_id:
                raise TargetError(
                    f"preflight: the answer to a new session of form {sent} named no session",
                    kind="protocol",
                )
    return len(keys)

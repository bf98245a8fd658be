"""Forms of the ticket page (all POST, all with a CSRF token)."""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (HiddenField, MultipleFileField, SelectChoice, SelectField, StringField, SubmitField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, ValidationError

from app.templating import PRIORITY_LABELS, STATUS_LABELS
from app.tickets.services import REPLY_STATUSES


def _body_limit(form, field) -> None:
    if len(field.data or "") > current_app.config["MAX_BODY_CHARS"]:
        raise ValidationError(_l("The message is too long."))


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Reply"), validators=[DataRequired(), _body_limit])
    status_after = SelectField(_l("Then set status to"), default="pending",
                               choices=[SelectChoice(s, STATUS_LABELS[s]) for s in REPLY_STATUSES])
    #: The newest message id the agent's page showed: a colleague's reply after it asks to confirm.
    seen_message_id = HiddenField()
    #: "1" once the agent confirmed (collision and/or reply-check warning).
    confirm = HiddenField()
    #: Images sent with the reply, on channels that send them (LINE).
    images = MultipleFileField(_l("Images"))
    submit = SubmitField(_l("Send reply"))

    def image_files(self) -> list[tuple[str, str, bytes]]:
        return [(f.filename, f.mimetype or "", f.read()) for f in (self.images.data or [])
                if getattr(f, "filename", None)]

    def seen_id(self):
        try:
            return int(self.seen_message_id.data)
        except (TypeError, ValueError):
            return None


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Internal note"), validators=[DataRequired(), _body_limit])
    submit = SubmitField(_l("Add note"))


class TicketUpdateForm(FlaskForm):
    """Status, priority, assignee and tags; `assignee_id` choices are set by the route."""

    status = SelectField(_l("Status"), choices=[SelectChoice(k, v) for k, v in STATUS_LABELS.items()])
    priority = SelectField(_l("Priority"), choices=[SelectChoice(k, v) for k, v in PRIORITY_LABELS.items()])
    #: 0 means unassigned.
    assignee_id = SelectField(_l("Assignee"), coerce=int, choices=[])
    tags = StringField(_l("Tags"), validators=[Length(max=1000)],
                       description=_l("Comma-separated"))
    #: The values the page was rendered with: only fields the agent changed are saved, so a stale
    #: page does not undo what a colleague changed meanwhile.
    orig_status = HiddenField()
    orig_priority = HiddenField()
    orig_assignee_id = HiddenField()
    orig_tags = HiddenField()
    submit = SubmitField(_l("Save"))

    @classmethod
    def for_ticket(cls, ticket) -> "TicketUpdateForm":
        tags = ", ".join(t.name for t in ticket.tags)
        values = {"status": ticket.status, "priority": ticket.priority,
                  "assignee_id": ticket.assignee_id or 0, "tags": tags}
        return cls(formdata=None, **values, **{f"orig_{k}": str(v) for k, v in values.items()})

    def changes(self) -> dict:
        """Keyword arguments for update_ticket(): the fields that differ from the rendered page."""
        out = {}
        for name in ("status", "priority", "assignee_id", "tags"):
            value = self[name].data
            if str(value if value is not None else "") != (self[f"orig_{name}"].data or ""):
                out[name] = value
        if "assignee_id" in out:
            out["assignee_id"] = out["assignee_id"] or None
        if "tags" in out:
            out["tags"] = out["tags"] or ""
        return out


def assignee_choices(agents, unassigned_label: str) -> list[SelectChoice]:
    """Choices for TicketUpdateForm.assignee_id: 0 (unassigned) then the given agents."""
    return [SelectChoice(0, unassigned_label)] + [SelectChoice(a.id, a.name) for a in agents]


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (assign to me, retry)."""

    submit = SubmitField(_l("OK"))

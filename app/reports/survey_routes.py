"""Public survey pages (no login): /survey/<token>, /survey/<token>/<score>, the comment.

A link in the email (GET /survey/<token>/<score>) only shows the page with that score picked and
one "send" button: mail scanners and link previewers fetch every link of a message, so a GET
must never record a score or open a detractor follow-up (issue 20, item 4). The score is
recorded by an explicit POST (the button, or any score button on the page) with a CSRF token.
Recording is safe to repeat: the same score again changes nothing, another score within the
change window replaces it, and after the window nothing changes any more. The comment is a POST
too.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from app.reports import survey as service

bp = Blueprint("survey", __name__, template_folder="templates", url_prefix="/survey")

ERRORS = {
    "invalid": (400, _l("This link is not valid.")),
    "missing": (404, _l("This survey no longer exists.")),
    "expired": (410, _l("This link has expired. Thank you all the same!")),
    "closed": (409, _l("Your answer was recorded and can no longer be changed. Thank you!")),
}


class CommentForm(FlaskForm):
    comment = TextAreaField(_l("Anything you would like to tell us? (optional)"), validators=[Length(max=4000)])


def _prefilled(survey) -> CommentForm:
    form = CommentForm()
    form.comment.data = survey.comment or ""
    return form


def _error(kind: str):
    status, text = ERRORS.get(kind, ERRORS["invalid"])
    return render_template("reports/survey_error.html", message=text), status


@bp.get("/<token>")
def show(token: str):
    """The 0-10 question, with the current answer if any."""
    try:
        survey = service.load(token)
    except service.SurveyError as exc:
        return _error(exc.kind)
    return render_template("reports/survey.html", survey=survey, token=token, form=_prefilled(survey))


@bp.get("/<token>/<int:score>")
def pick(token: str, score: int):
    """The page with the clicked score picked and one button to send it; records nothing."""
    if score < 0 or score > 10:
        abort(404)
    try:
        survey = service.load(token)
    except service.SurveyError as exc:
        return _error(exc.kind)
    return render_template("reports/survey.html", survey=survey, token=token, form=_prefilled(survey),
                           picked=score)


@bp.post("/<token>/<int:score>")
def answer(token: str, score: int):
    """Record the score (idempotent, changeable for a while) and offer a comment."""
    if score < 0 or score > 10:
        abort(404)
    form = FlaskForm()  # CSRF only
    try:
        survey = service.load(token)
        if not form.validate_on_submit():
            return _error("invalid")
        service.record_score(survey, score)
    except service.SurveyError as exc:
        return _error(exc.kind)
    return render_template("reports/survey.html", survey=survey, token=token, form=_prefilled(survey),
                           just_answered=True)


@bp.post("/<token>")
def comment(token: str):
    """Save the optional comment."""
    form = CommentForm()
    try:
        survey = service.load(token)
        if not form.validate_on_submit():
            return render_template("reports/survey.html", survey=survey, token=token, form=form), 422
        service.save_comment(survey, form.comment.data)
    except service.SurveyError as exc:
        return _error(exc.kind)
    return render_template("reports/survey.html", survey=survey, token=token, form=form, thanked=True)

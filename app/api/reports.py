"""Reports: GET /reports/sla — the SLA figures of the supervisor report page, as JSON (supervisors)."""
from __future__ import annotations

from flask import jsonify, request

from app.api import bp
from app.api.auth import current_agent, validation_error
from app.reports.export import parse_filters
from app.reports.metrics import sla_report

API_GROUPS = ("agent", "channel", "priority", "tag", "week")


@bp.get("/reports/sla")
def reports_sla():
    """Response times (calendar and business seconds, median and p90), replies per ticket, reopen
    rate and SLA attainment of tickets created in [from, to] (shop days), by group.
    ---
    get:
      tags: [reports]
      summary: SLA report (supervisors only)
      parameters:
        - in: query
          name: from
          description: First day (shop time zone); default 27 days before `to`
          schema: {type: string, format: date}
        - in: query
          name: to
          description: Last day, inclusive; default today
          schema: {type: string, format: date}
        - in: query
          name: group_by
          schema: {type: string, enum: [agent, channel, priority, tag, week]}
        - in: query
          name: channel
          schema: {type: string}
        - in: query
          name: priority
          schema: {type: string}
        - in: query
          name: agent_id
          schema: {type: integer}
      responses:
        200:
          description: "{from, to, group_by, groups: [...], total: {...}}; durations in seconds"
          content:
            application/json:
              schema: {type: object}
        403:
          description: The token's agent is not a supervisor
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
        422: ValidationFailed
    """
    if not current_agent().is_supervisor:
        return jsonify(error="forbidden", message="reports are for supervisors"), 403
    f, group_by, errors = parse_filters(request.args)
    if request.args.get("group_by") and request.args["group_by"] not in API_GROUPS:
        errors["group_by"] = f"one of {', '.join(API_GROUPS)}"
    if errors:
        return validation_error(errors)
    return jsonify(sla_report(f, group_by))

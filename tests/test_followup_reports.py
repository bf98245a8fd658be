"""Follow-up reports: per-step outcomes, and reached vs comparable customers with sample sizes."""
from __future__ import annotations

from datetime import date

from app.extensions import db
from app.followup import reports, services
from app.followup.runner import run
from app.ingest import ingest
from app.models import Message
from tests.factories import inbound
from tests.followup_helpers import buyer, jst, plan_with, product


def test_step_counts_and_cohorts(app, supervisor):
    item = product("しょうが紅茶")
    replier = buyer("返信 する人", [date(2026, 11, 4)], item=item, email="henshin@kurashi.example")
    quitter = buyer("停止 する人", [date(2026, 11, 4)], item=item)
    # comparable: same first product and month, not reached (their step is not due yet)
    for n, day in enumerate([date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 25)]):
        orders = [date(2026, 11, 6), day] if n == 0 else [date(2026, 11, 6)]  # not yet due on the 9th
        buyer(f"比較 {n}", orders, item=item)
    buyer("2回目 あり", [date(2026, 11, 4), date(2026, 12, 1)], item=item)  # reached, then bought again
    plan = plan_with(supervisor, "first_delivered", [{"delay_days": 3, "subject": "紅茶のお礼",
                                                      "body": "{customer_name}\nありがとうございます。"}])
    assert run(today=date(2026, 11, 9), now=jst(date(2026, 11, 9), 10)) == {"sent": 3}
    sent = db.session.query(Message).filter(Message.customer_id == replier.id).one()
    sent.thread_key = "<fu-1@tsunagu.test>"
    db.session.commit()
    ingest(inbound("美味しく飲んでいます！", channel="email", sender="henshin@kurashi.example",
                   external_id="<re-1@kurashi.example>", reply_to_keys=("<fu-1@tsunagu.test>",),
                   created_at=jst(date(2026, 11, 10))))
    services.unsubscribe(quitter.id)
    ingest(inbound("箱が潰れて届きました", channel="email", sender=quitter.identities[0].value,
                   external_id="<new-1@kurashi.example>", created_at=jst(date(2026, 11, 11))))

    [row] = [r for r in reports.step_counts() if r["plan"].id == plan.id]
    assert (row["sent"], row["replied"], row["unsubscribed"], row["stopped"]) == (3, 1, 1, 0)
    assert row["tickets"] == 1  # a new conversation after the mail; the reply to it does not count

    [cohort] = reports.cohorts(today=date(2026, 12, 7))
    assert cohort.reached == 3 and abs(cohort.reached_repeat - 1 / 3) < 1e-9
    assert cohort.comparison == 3 and abs(cohort.comparison_repeat - 1 / 3) < 1e-9


def test_flask_follow_up_run_command(app, runner, supervisor):
    buyer("コマンド 実行", [date(2026, 11, 4)])
    plan_with(supervisor, "first_delivered", [{"delay_days": 3, "subject": "お礼", "body": "ありがとうございます"}])
    result = runner.invoke(args=["follow-up", "run", "--today", "2026-11-09"])
    assert result.exit_code == 0, result.output
    assert "sent: 1" in result.output
    assert "nothing due" in runner.invoke(args=["follow-up", "run", "--today", "2026-11-09"]).output

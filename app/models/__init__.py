"""All models, re-exported so `from app.models import Ticket` works everywhere."""
from app.models.agents import API_SCOPES, ROLES, USER_SCOPES, Agent, ApiToken, Team
from app.models.base import UTCDateTime, utcnow
from app.models.channels import ChannelState
from app.models.commerce import Order, OrderLine, Product, Subscription
from app.models.coupon_policy import CouponBudget, CouponPolicy, CouponReason
from app.models.coupons import Coupon, CouponRedemption
from app.models.customers import IDENTITY_KINDS, Customer, Identity
from app.models.followup import FollowupPlan, FollowupSend, FollowupStep, MailConsent
from app.models.login_throttle import LoginThrottle
from app.models.messages import Attachment, Message, OutboxItem, RawSource
from app.models.macros import Macro, ReplyCheckTerm
from app.models.search import SearchQueueItem
from app.models.sla import (BusinessCalendar, ClosedDay, SatisfactionResponse, SLAPolicy,
                            TicketSLA)
from app.models.retention import RetentionCase, SubscriptionAction
from app.models.report_rollup import SLARollupDelta, SLAWeekRollup
from app.models.social import LISTENING_STATUSES, ListeningPost, XUsage
from app.models.tasks import Task
from app.models.tickets import OPEN_STATUSES, PRIORITIES, STATUSES, Event, Tag, Ticket, ticket_tags

__all__ = [
    "ROLES", "API_SCOPES", "USER_SCOPES", "Agent", "ApiToken", "Team", "UTCDateTime", "utcnow", "ChannelState", "Order",
    "OrderLine", "Product", "Subscription", "Coupon", "IDENTITY_KINDS", "Customer", "Identity",
    "Attachment", "Message", "OutboxItem", "RawSource", "OPEN_STATUSES", "PRIORITIES", "STATUSES",
    "Event", "Tag", "Task", "Ticket", "ticket_tags",
    "CouponBudget", "CouponPolicy", "CouponReason", "CouponRedemption",
    "RetentionCase", "SubscriptionAction",
    "LISTENING_STATUSES", "ListeningPost", "XUsage",
    "SearchQueueItem",
    "BusinessCalendar", "ClosedDay", "SatisfactionResponse", "SLAPolicy", "TicketSLA",
    "Macro", "ReplyCheckTerm",
    "LoginThrottle",
    "FollowupPlan", "FollowupSend", "FollowupStep", "MailConsent",
    "SLARollupDelta", "SLAWeekRollup",
]

"""The shop: every change Tsunagu asks the shop system to make, and how it gets there.

A change (skip, pause, cycle, swap, quantity, cancel, a goodwill coupon, a follow-up plan's step)
is a SubscriptionAction row, queued pending in the transaction that decided it
(`delivery.new_action`) and carried to the shop after commit by `delivery.deliver` through the
configured backend (`backends`: local | webhook). Features that need to know when the shop
applied a change register with `delivery.on_acknowledged`; this package imports no feature
(retention, coupons...), so any of them can use it without an import circle.
"""

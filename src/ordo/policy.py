"""Every policy number of ``shared/POLICIES.md`` as a typed default, in one place.

An operator overrides any of them in a TOML policy file (``ORDO_POLICY_FILE``); nothing in the
code repeats these numbers.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trait(StrEnum):
    FRAGILE = "fragile"
    LIQUID = "liquid"
    PERISHABLE = "perishable"
    ELECTRONICS = "electronics"
    BULKY = "bulky"
    PROHIBITED = "prohibited"


class Leg(StrEnum):
    """The cross-border legs of a shipment after the warehouse hands it over, in the only order they
    can happen (002: booking and export declaration, international transport, arrival, customs,
    last mile)."""

    EXPORT_BOOKING = "export_booking"
    EXPORT_DECLARATION = "export_declaration"
    INTERNATIONAL_TRANSPORT = "international_transport"
    ARRIVAL = "arrival"
    CUSTOMS_CLEARANCE = "customs_clearance"
    LAST_MILE = "last_mile"


INTERNATIONAL_LEGS: tuple[Leg, ...] = tuple(Leg)


class ServiceTypePolicy(_Section):
    """What a logistics service type accepts. ``scope`` decides the allowed destinations; ``legs``
    are the cross-border legs its shipments go through after hand-over (none for domestic service)."""

    scope: Literal["domestic", "international"]
    forbidden_traits: tuple[Trait, ...] = ()
    required_warehouse_kind: Literal["domestic", "overseas"] = "domestic"
    required_capabilities: tuple[str, ...] = ()
    # "The logistics service type must match the amount paid" (002): the shipping fee charged
    # must cover at least this much.
    min_shipping_fee: Decimal = Decimal("0")
    legs: tuple[Leg, ...] = ()

    @field_validator("legs")
    @classmethod
    def _legs_in_order(cls, legs: tuple[Leg, ...]) -> tuple[Leg, ...]:
        positions = [INTERNATIONAL_LEGS.index(leg) for leg in legs]
        if positions != sorted(set(positions)):
            raise ValueError(f"legs must be distinct and in the order {', '.join(INTERNATIONAL_LEGS)}")
        # The arrival ends the international transport: one without the other never completes.
        if (Leg.INTERNATIONAL_TRANSPORT in legs) != (Leg.ARRIVAL in legs):
            raise ValueError("international_transport and arrival go together")
        return legs


def _default_service_types() -> dict[str, ServiceTypePolicy]:
    return {
        "domestic_express": ServiceTypePolicy(
            scope="domestic", forbidden_traits=(Trait.BULKY, Trait.PERISHABLE)
        ),
        "domestic_freight": ServiceTypePolicy(scope="domestic", forbidden_traits=(Trait.PERISHABLE,)),
        "cold_chain": ServiceTypePolicy(
            scope="domestic", required_capabilities=("cold_chain",), min_shipping_fee=Decimal("10")
        ),
        "intl_air": ServiceTypePolicy(
            scope="international",
            forbidden_traits=(Trait.LIQUID, Trait.BULKY, Trait.PERISHABLE),
            min_shipping_fee=Decimal("50"),
            legs=INTERNATIONAL_LEGS,
        ),
        "intl_sea": ServiceTypePolicy(
            scope="international", forbidden_traits=(Trait.PERISHABLE,), min_shipping_fee=Decimal("30"),
            legs=INTERNATIONAL_LEGS,
        ),
        "overseas_warehouse": ServiceTypePolicy(
            scope="international",
            forbidden_traits=(Trait.PERISHABLE,),
            required_warehouse_kind="overseas",
            min_shipping_fee=Decimal("20"),
            # The goods are already in the destination country: only the local delivery remains.
            legs=(Leg.LAST_MILE,),
        ),
    }


class IntakePolicy(_Section):
    home_country: str = "CN"
    currencies: tuple[str, ...] = ("CNY", "USD", "EUR", "GBP", "JPY", "HKD", "SGD", "AUD", "CAD", "KRW")
    # Goods refused whatever their SKU flags say (002: flammable, explosive, controlled knives…).
    prohibited_categories: tuple[str, ...] = ("flammable", "explosive", "controlled_knives", "firearms")
    # Provinces whose addresses are marked remote (002: "a remote area is marked").
    remote_provinces: tuple[str, ...] = ("西藏", "新疆", "青海", "Tibet", "Xinjiang", "Qinghai")
    payment_methods: tuple[str, ...] = (
        "alipay", "wechat_pay", "card", "bank_transfer", "cash_on_delivery", "paypal", "marketplace", "balance"
    )
    order_classes: tuple[str, ...] = ("normal", "promotion", "fresh", "urgent", "cross_border")
    # Destinations without postcodes (Hong Kong, Macau, …): no postcode is asked for there.
    countries_without_postcodes: tuple[str, ...] = ("HK", "MO", "AE", "QA")
    max_lines: int = 200
    max_quantity_per_line: int = 10_000
    # Order serials without gaps: on PostgreSQL the day's counter row then stays locked until each
    # intake commits, so intakes queue one behind the other. Off (the default): each serial is taken
    # in a short transaction of its own and intakes run side by side; an intake that fails after
    # taking its serial leaves a gap (numbers stay unique and increasing). SQLite is always gapless.
    gapless_numbers: bool = False
    service_types: dict[str, ServiceTypePolicy] = Field(default_factory=_default_service_types)


class ReviewPolicy(_Section):
    # "complete information, stock available and payment received → to process automatically".
    auto_confirm_paid: bool = True
    # Allocation runs right after confirmation, so a clean order reaches "allocated" in one step.
    auto_allocate: bool = True
    # The review and risk rules run at intake, on payment and when a hold is released.
    auto_screen: bool = True
    # Two-level review (002): special services or an amount over the threshold (in the order's
    # currency) need the department head's second review.
    second_review_amount: Decimal = Decimal("5000")
    second_review_service_types: tuple[str, ...] = ("overseas_warehouse",)
    second_review_traits: tuple[str, ...] = ("bulky",)
    # Orders paid this way are verified with the customer before confirmation.
    verify_payment_methods: tuple[str, ...] = ("cash_on_delivery",)
    # During a promotion: "amount ≤ 100 and address without problems → approve" (000).
    promotion_auto_approve_amount: Decimal = Decimal("100")
    promotion_classes: tuple[str, ...] = ("promotion",)
    # Queue order: VIP level first, then order class in this order, then age.
    class_priority: tuple[str, ...] = ("urgent", "fresh", "cross_border", "promotion", "normal")
    # A claim not acted on within this time lapses and another reviewer may take the order.
    claim_timeout: timedelta = timedelta(minutes=30)
    max_batch: int = 200


class RiskPolicy(_Section):
    duplicate_window: timedelta = timedelta(minutes=30)
    same_contact_order_count: int = 3
    same_contact_window: timedelta = timedelta(hours=24)
    virtual_operator_prefixes: tuple[str, ...] = ("170", "171", "162", "165", "167")
    cancel_reorder_count: int = 3
    cancel_reorder_window: timedelta = timedelta(days=7)
    # Abusive or threatening words (matched after full-width, case and spacing are normalised).
    abusive_words: tuple[str, ...] = (
        "傻逼", "傻b", "去死", "杀了你", "弄死你", "炸了你", "砍死", "王八蛋", "滚蛋", "骗子",
        "fuck", "idiot", "kill you", "bomb", "scammer", "bastard",
    )
    # Address normalisation: administrative suffixes dropped from province/city/district, and
    # street words written in several ways mapped to one.
    address_suffixes: tuple[str, ...] = ("特别行政区", "自治区", "自治州", "省", "市", "区", "县")
    address_synonyms: dict[str, str] = Field(
        default_factory=lambda: {
            "street": "st", "road": "rd", "avenue": "ave", "building": "bldg", "room": "rm",
            "apartment": "apt", "number": "no", "号楼": "栋", "大厦": "大楼",
        }
    )


class InventoryPolicy(_Section):
    # A replenishment alert when available stock falls below this (001, 003), per SKU code
    # overridable; counted over all warehouses ("total") or in each warehouse ("warehouse").
    reorder_point: int = 50
    reorder_points: dict[str, int] = Field(default_factory=dict)
    reorder_scope: Literal["total", "warehouse"] = "total"
    # Units kept back from what each sales channel is told it may sell (channel kind → units).
    safety_stock: dict[str, int] = Field(default_factory=lambda: {"marketplace": 5})
    default_safety_stock: int = 0
    # An unpaid order closed because paid orders took the scarce stock gets this apology coupon.
    apology_coupon: Decimal = Decimal("5")
    apology_coupon_currency: str = "CNY"
    # How eligible warehouses are ordered (001: by location, preferring one that holds enough):
    # "region" (same province as the destination first), "priority" (lower first), "stock" (more
    # of the order's goods first). The first key decides, the next break ties.
    allocation_strategy: tuple[Literal["region", "priority", "stock"], ...] = ("region", "priority", "stock")
    # Goods with these traits always ship on their own (cold-chain goods separately, 001).
    separate_traits: tuple[str, ...] = ("perishable",)
    # Category rules that force a split, e.g. ("furniture",) to ship bulky furniture by freight apart.
    separate_categories: tuple[str, ...] = ()
    # Above this many eligible warehouses the minimal split is searched greedily instead of exactly.
    exact_split_limit: int = 12
    # A restock reads its backorder queue again once it holds the stock rows; an order backordered
    # meanwhile makes it start over (locking that order first), at most this many reads in all.
    restock_queue_reads: int = Field(3, ge=1)
    # Goods that may serve waiting orders are noted by the command that freed them and served after
    # its commit; the worker serves what was left, at most this many notes per transaction.
    wakeups_per_serving: int = Field(200, ge=1)
    # At most this many servings at once (each holds the stock rows its waiting orders need while it
    # plans them); a serving that finds them all taken leaves its notes to the next one.
    servings_at_once: int = Field(1, ge=1)


class QualityPolicy(_Section):
    daily_sample_rate: Decimal = Decimal("0.03")
    role_error_rate_flag: Decimal = Decimal("0.02")
    satisfaction_floor: Decimal = Decimal("0.90")
    accuracy_target: Decimal = Decimal("0.995")
    on_time_target: Decimal = Decimal("0.98")
    complaint_rate_ceiling: Decimal = Decimal("0.01")
    return_rate_flag: Decimal = Decimal("0.20")


class RetentionPolicy(_Section):
    backup_keep: timedelta = timedelta(days=3 * 365)
    archive_after_completion: timedelta = timedelta(weeks=1)
    archive_keep: timedelta = timedelta(days=3 * 365)


class TimeLimit(_Section):
    limit: timedelta
    calendar: Literal["elapsed", "working_days", "next_working_day_at"] = "elapsed"
    source: str = ""


def _h(hours: float, source: str) -> TimeLimit:
    return TimeLimit(limit=timedelta(hours=hours), source=source)


def _wd(days: int, source: str) -> TimeLimit:
    return TimeLimit(limit=timedelta(days=days), calendar="working_days", source=source)


def _default_time_limits() -> dict[str, TimeLimit]:
    """The table "Time limits (SLA clocks)" of POLICIES.md; the SLA issue turns these into clocks."""
    return {
        "auto_review": _h(5 / 60, "000"),
        "manual_review": _h(0.5, "000"),
        "contact_customer": _h(1, "000"),
        "customer_silent_hold": _h(2, "000"),
        "offline_entry": _h(1, "002"),
        "offline_entry_urgent": _h(0.5, "002"),
        "first_review": _h(2, "002"),
        "second_review": _h(4, "002"),
        "confirmation_document": _h(1, "002"),
        "picking": _h(4, "000"),
        "check_after_pick": _h(0.5, "000"),
        "handover_after_pack": _h(2, "000"),
        "warehouse_preparation_cross_border": _h(24, "002"),
        "warehouse_preparation_overseas": _h(12, "002"),
        "outbound_scan": _h(6, "002"),
        "booking_and_declaration": _h(24, "002"),
        "customs_clearance": _h(48, "002"),
        "last_mile_start": _h(24, "002"),
        "ship_normal": _h(24, "000"),
        "ship_promotion": _h(48, "000"),
        "ship_fresh": _h(12, "000"),
        "tracking_upload": _h(1, "003"),
        "status_notice": _h(1, "002"),
        "tracking_stalled": _h(24, "003"),
        "refusal_contact": _h(2, "003"),
        "enquiry_answer": _h(0.5, "000"),
        "enquiry_answer_after_hours": TimeLimit(
            limit=timedelta(hours=10), calendar="next_working_day_at", source="000"
        ),
        "status_query_answer": _h(3 / 60, "002"),
        "out_of_stock_notice": _h(1, "000"),
        "stock_cancel_refund": _h(24, "000"),
        "cancellation_verify": _h(1, "002"),
        "cancellation_done": _h(2, "002"),
        "refund_original_route": _wd(3, "000, 002"),
        "refund_after_return_inspection": _h(72, "003"),
        "quality_return_answer": _h(4, "000"),
        "return_review": _h(12, "003"),
        "return_inspection": _h(24, "000, 003"),
        "complaint_solution": _h(24, "000"),
        "major_complaint_close": _h(72, "000"),
        "ticket_first_response": _h(2, "003"),
        "ticket_resolution": _h(24, "003"),
        "delay_cause": _h(2, "002"),
        "delay_notice": _h(1, "002"),
        "damage_evidence": _h(2, "002"),
        "damage_contact": _h(1, "002"),
        "damage_compensation": _wd(3, "002"),
        "exception_record": _h(24, "002"),
        "complete_after_delivery": _h(24, "002"),
        "satisfaction_visit": _wd(3, "002"),
        "archive_after_completion": _h(7 * 24, "002"),
        "dispute_evidence": _h(24, "003"),
        "review_waiting_alert": _h(2, "003"),
    }


# --- carriers and packing (POLICIES.md: "Carrier choice", "Packing") ---------------------------


class Carrier(_Section):
    name: str
    # Volumetric weight (kg) = length × width × height (cm) / divisor.
    volumetric_divisor: int = 6000
    # Other spellings of the carrier (a channel's or a person's): the code, the name and these all
    # name the same carrier, whatever the case, spaces, dots, hyphens and underscores.
    aliases: tuple[str, ...] = ()


class CarrierRule(_Section):
    """First matching rule wins. Empty conditions match anything."""

    name: str
    carrier: str
    any_traits: tuple[Trait, ...] = ()
    service_types: tuple[str, ...] = ()
    max_weight_g: int | None = None
    reason: str


class PackingRule(_Section):
    trait: Trait
    instructions: tuple[str, ...]
    needs_temperature_logger: bool = False


def _carriers() -> dict[str, Carrier]:
    return {
        "sf_cold": Carrier(name="SF Cold Chain", volumetric_divisor=6000, aliases=("顺丰冷运",)),
        "deppon": Carrier(name="Deppon Home Delivery", volumetric_divisor=6000, aliases=("Deppon", "德邦")),
        "sf": Carrier(name="SF Express", volumetric_divisor=6000, aliases=("顺丰", "顺丰速运")),
        "yto": Carrier(name="YTO Economy", volumetric_divisor=8000, aliases=("YTO Express", "圆通")),
        "zto": Carrier(name="ZTO Express", volumetric_divisor=8000, aliases=("中通",)),
        "dhl": Carrier(name="DHL Express", volumetric_divisor=5000, aliases=("DHL",)),
        "cosco": Carrier(name="COSCO Sea Freight", volumetric_divisor=1000, aliases=("COSCO", "中远海运")),
        "local_last_mile": Carrier(name="Overseas local delivery", volumetric_divisor=5000),
    }


def _carrier_rules() -> tuple[CarrierRule, ...]:
    return (
        CarrierRule(name="intl_air", carrier="dhl", service_types=("intl_air",),
                    reason="international air service"),
        CarrierRule(name="intl_sea", carrier="cosco", service_types=("intl_sea",),
                    reason="international sea service"),
        CarrierRule(name="overseas_warehouse", carrier="local_last_mile", service_types=("overseas_warehouse",),
                    reason="shipped from an overseas warehouse"),
        CarrierRule(name="cold_chain", carrier="sf_cold", any_traits=(Trait.PERISHABLE,),
                    reason="fresh goods travel cold chain"),
        CarrierRule(name="bulky", carrier="deppon", any_traits=(Trait.BULKY,),
                    reason="bulky goods need freight / home delivery"),
        CarrierRule(name="electronics", carrier="sf", any_traits=(Trait.ELECTRONICS,),
                    reason="electronics go with the premium carrier"),
        CarrierRule(name="light_parcel", carrier="yto", max_weight_g=1000,
                    reason="parcels up to 1 kg go economy express"),
        CarrierRule(name="default", carrier="zto", reason="standard express"),
    )


def _packing_rules() -> tuple[PackingRule, ...]:
    return (
        PackingRule(trait=Trait.FRAGILE, instructions=("cushioning", "\"fragile\" label")),
        PackingRule(trait=Trait.LIQUID, instructions=("sealed bag",)),
        PackingRule(trait=Trait.PERISHABLE, instructions=("insulated box", "temperature logger"),
                    needs_temperature_logger=True),
    )


class ShippingPolicy(_Section):
    carriers: dict[str, Carrier] = Field(default_factory=_carriers)
    carrier_rules: tuple[CarrierRule, ...] = Field(default_factory=_carrier_rules)
    # Per-category templates: a category named here always ships with that carrier.
    category_carriers: dict[str, str] = Field(default_factory=lambda: {"furniture": "deppon"})
    packing_rules: tuple[PackingRule, ...] = Field(default_factory=_packing_rules)
    # Who is alerted (outbox, staff message) when customs holds a shipment.
    customs_held_audience: str = "logistics"
    # Carriers chosen only to stand in for one named later (the overseas warehouse's local delivery,
    # whose company the last-mile hand-over names): their booking is replaced at ship without an
    # override, like a number a manual carrier made up.
    stand_in_carriers: tuple[str, ...] = ("local_last_mile",)
    # A carrier scan dated later than its receipt by more than this is taken at the receipt and
    # marked adjusted ("future"); up to it, the carrier's clock is only a little ahead of ours.
    scan_future_tolerance: timedelta = Field(default=timedelta(minutes=15), ge=timedelta(0))

    def carrier_name(self, carrier: str | None) -> str | None:
        """What customers read: the name of a carrier the policy knows, any other as it was given."""
        known = self.carriers.get(carrier or "")
        return known.name if known is not None else carrier


# --- warehouse floor, waves and scans (POLICIES.md: "Picking") -----------------------------------


class LayoutDefaults(_Section):
    """The floor assumed for a warehouse that has no layout of its own (``PUT …/layout``)."""

    aisles: int = 10
    aisle_length_m: float = 30.0
    aisle_spacing_m: float = 3.0
    slot_length_m: float = 1.0
    middle_cross_aisles_m: tuple[float, ...] = ()
    depot_aisle: int = 1


class WarehousePolicy(_Section):
    layout: LayoutDefaults = Field(default_factory=LayoutDefaults)
    # A pick list holds at most this many units (a larger shipment gets a list of its own).
    max_items_per_pick_list: int = Field(default=30, ge=1)
    # Waves: fresh and urgent goods are picked first (000), then by carrier cut-off, VIP, age.
    pick_class_priority: tuple[str, ...] = ("fresh", "urgent", "cross_border", "promotion", "normal")
    # The daily collection time (business time zone, "HH:MM") per carrier code; a shipment whose
    # carrier collects sooner is picked sooner. Carriers not named here have no cut-off.
    carrier_cutoffs: dict[str, str] = Field(default_factory=dict)
    # At most this many shipments are considered by one release.
    max_release: int = Field(default=500, ge=1)


# --- SLA clocks and notifications (issue 6) -------------------------------------------------------


class ClockRule(_Section):
    """One step of the time-limits table as a clock: started and stopped by events, with the limit
    ``time_limits[step]``. Empty conditions match anything."""

    step: str
    entity: Literal["order", "shipment"]
    start: tuple[str, ...]
    # Stopping events close the clock and count for the on-time rate; cancelling events close it
    # without counting (the step no longer has to happen).
    stop: tuple[str, ...]
    cancel: tuple[str, ...] = ()
    department: str
    # Start only when the start event leaves the entity in one of these states (empty: any).
    start_states: tuple[str, ...] = ()
    order_classes: tuple[str, ...] = ()
    service_types: tuple[str, ...] = ()
    warehouse_kinds: tuple[str, ...] = ()
    pauses_on_hold: bool = False
    # How long a breach may stay open before it is escalated to the supervisor (None: the policy's
    # ``sla.escalate_after``).
    escalate_after: timedelta | None = None
    # The event a breach is recorded as, on the clock's entity, when the owning domain tells its
    # people itself (None: the breach scan sends the department the generic ``sla.breached``).
    breach_event: str | None = None


_ORDER_END = ("order.cancel", "order.reject", "order.close")
# Every event after which a shipment has nothing left to do: its clocks are cancelled (unless the
# event is the step's own stop). Refusal starts the return, so only its own clocks end there.
SHIPMENT_TERMINAL = ("shipment.cancel", "shipment.intercept", "shipment.lose", "shipment.deliver",
                     "shipment.return")
# Events that show a shipment moving (restarting the no-movement clock): its steps, the departure
# of the international transport (the leg ``shipment.international_transport``, which moves the
# goods without a shipment step of its own), and a carrier's scan that changes no state
# (``shipment.moved``, recorded at the scan's time).
_MOVEMENT = ("shipment.ship", "shipment.declare_export", "shipment.international_transport",
             "shipment.enter_customs", "shipment.clear_customs", "shipment.out_for_delivery", "shipment.moved")
_CROSS_BORDER = ("intl_air", "intl_sea")


def _shipment_rule(**fields: object) -> ClockRule:
    """A shipment clock, cancelled by every terminal shipment event that is not its own stop."""
    stop = tuple(fields["stop"])  # type: ignore[call-overload]
    extra = tuple(fields.pop("cancel", ()))  # type: ignore[call-overload]
    cancel = tuple(dict.fromkeys(e for e in (*SHIPMENT_TERMINAL, *extra) if e not in stop))
    return ClockRule(entity="shipment", cancel=cancel, **fields)  # type: ignore[arg-type]


def _clock_rules() -> tuple[ClockRule, ...]:
    """The rows of the time-limits table whose start and stop events exist. Rows that wait for a
    domain not built yet (refunds, returns, complaints, tickets, enquiries, damage, archive, …) are
    listed in docs/operations.md, "SLA clocks"."""
    return (
        # --- order intake and review ---
        # The automatic review has 5 minutes: it ends with a confirmation, a queue for people, a
        # hold or a refusal — whatever the outcome, the machine has decided.
        ClockRule(step="auto_review", entity="order", start=("order.created", "order.pay"),
                  stop=("order.confirm", "review.queued", "review.intercepted", "order.hold"), cancel=_ORDER_END,
                  department="customer_service", start_states=("pending_review",)),
        ClockRule(step="manual_review", entity="order", start=("order.created", "order.pay"),
                  stop=("order.confirm",), cancel=_ORDER_END, department="customer_service", pauses_on_hold=True,
                  start_states=("pending_review",)),
        # 002: the first review (payment, consistency, special requests) within 2 hours of entry.
        ClockRule(step="first_review", entity="order", start=("order.created", "order.pay"),
                  stop=("review.first_approved", "review.approved", "order.confirm"), cancel=_ORDER_END,
                  department="customer_service", start_states=("pending_review",), pauses_on_hold=True),
        # An order queued for people with doubtful information: the customer is contacted within 1 h.
        ClockRule(step="contact_customer", entity="order", start=("review.queued",),
                  stop=("review.contacted", "review.approved", "order.confirm"), cancel=_ORDER_END,
                  department="customer_service"),
        # Contacted and silent: the silent-customer scan holds the order at 2 h (review.handlers.scan_silent).
        ClockRule(step="customer_silent_hold", entity="order", start=("review.contacted",),
                  stop=("review.answered", "order.hold", "order.hold_added"), cancel=_ORDER_END,
                  department="customer_service"),
        # An order queued for people (003: waiting longer than 2 h raises an alert); the second
        # level of a two-level review has its own limit after the first approval (002).
        ClockRule(step="review_waiting_alert", entity="order", start=("review.queued",),
                  stop=("review.approved", "order.confirm"), cancel=_ORDER_END, department="customer_service"),
        ClockRule(step="second_review", entity="order", start=("review.first_approved",),
                  stop=("review.approved",), cancel=_ORDER_END, department="reviewer"),
        # --- order placed → shipped ---
        ClockRule(step="ship_normal", entity="order", start=("order.created",), stop=("order.ship",),
                  cancel=_ORDER_END,
                  department="warehouse", order_classes=("normal", "urgent", "cross_border"), pauses_on_hold=True),
        ClockRule(step="ship_promotion", entity="order", start=("order.created",), stop=("order.ship",),
                  cancel=_ORDER_END,
                  department="warehouse", order_classes=("promotion",), pauses_on_hold=True),
        ClockRule(step="ship_fresh", entity="order", start=("order.created",), stop=("order.ship",),
                  cancel=_ORDER_END,
                  department="warehouse", order_classes=("fresh",), pauses_on_hold=True),
        ClockRule(step="out_of_stock_notice", entity="order", start=("order.backorder",),
                  stop=("order.allocate", "order.hold"), cancel=_ORDER_END, department="customer_service"),
        # --- the warehouse ---
        _shipment_rule(step="picking", start=("shipment.start_pick",), stop=("shipment.finish_pick",),
                       department="warehouse"),
        _shipment_rule(step="check_after_pick", start=("shipment.finish_pick",), stop=("shipment.check",),
                       department="warehouse"),
        _shipment_rule(step="handover_after_pack", start=("shipment.pack",), stop=("shipment.hand_over",),
                       department="warehouse"),
        # 002: cross-border preparation in the home warehouse 24 h, in an overseas warehouse 12 h,
        # from the shipment's allocation to its hand-over.
        _shipment_rule(step="warehouse_preparation_cross_border", start=("shipment.created",),
                       stop=("shipment.hand_over",), department="warehouse", service_types=_CROSS_BORDER,
                       warehouse_kinds=("domestic",)),
        _shipment_rule(step="warehouse_preparation_overseas", start=("shipment.created",),
                       stop=("shipment.hand_over",), department="warehouse", warehouse_kinds=("overseas",)),
        # 002: the outbound scan (hand-over) of a cross-border parcel within 6 h of its preparation (packing).
        _shipment_rule(step="outbound_scan", start=("shipment.pack",), stop=("shipment.hand_over",),
                       department="warehouse", service_types=(*_CROSS_BORDER, "overseas_warehouse")),
        # --- logistics ---
        _shipment_rule(step="tracking_upload", start=("shipment.hand_over",), stop=("shipment.ship",),
                       department="logistics"),
        _shipment_rule(step="booking_and_declaration", start=("shipment.hand_over",),
                       stop=("shipment.declare_export",), department="logistics", service_types=_CROSS_BORDER),
        _shipment_rule(step="customs_clearance", start=("shipment.enter_customs",),
                       stop=("shipment.clear_customs",), department="logistics"),
        _shipment_rule(step="last_mile_start", start=("shipment.clear_customs",),
                       stop=("shipment.out_for_delivery",), department="logistics"),
        # No tracking movement for 24 h (003): every movement stops the clock and starts the next.
        # Its breach is the stalled parcel, told by shipping (``shipping.stalls``) rather than as
        # a generic breach.
        _shipment_rule(step="tracking_stalled", start=_MOVEMENT, stop=(*_MOVEMENT, "shipment.deliver"),
                       cancel=("shipment.refuse",),
                       department="logistics", breach_event="shipment.stalled"),
        _shipment_rule(step="refusal_contact", start=("shipment.refuse",), stop=("shipment.return",),
                       department="customer_service"),
        # --- after delivery ---
        ClockRule(step="complete_after_delivery", entity="order", start=("order.deliver",),
                  stop=("order.complete",), department="customer_service"),
    )


class SlaPolicy(_Section):
    # POLICIES.md: "Working day" is the business calendar; working hours decide the enquiry rule.
    work_start: str = "09:00"
    work_end: str = "18:00"
    # The override table (TOML ``[sla.calendar_overrides]``, "2027-01-01" = "holiday"): wins over
    # the official calendar package; admins fill in a year before the package knows it.
    calendar_overrides: dict[date, Literal["workday", "holiday"]] = Field(default_factory=dict)
    # The admins' override table (``ordo calendar set``) is read again by each process this often.
    calendar_refresh: timedelta = timedelta(minutes=1)
    # The scan warns the admins when the calendar does not know a day this far ahead.
    calendar_lookahead: timedelta = timedelta(days=30)
    # A breached clock still open this long after its deadline is escalated to the supervisor
    # (a clock rule may set its own ``escalate_after``).
    escalate_after: timedelta = timedelta(hours=2)
    scan_batch: int = 500
    # Breaching these steps tells the customer the order is delayed (POLICIES.md: delay → customer told).
    tell_customer_on_breach: tuple[str, ...] = ("ship_normal", "ship_promotion", "ship_fresh")
    clocks: tuple[ClockRule, ...] = Field(default_factory=_clock_rules)


class WebhookSubscriber(_Section):
    """A receiver of customer-visible changes: one outbox message per subscriber and change, signed
    with the secret read from the environment variable ``secret_env`` (never from the policy file)."""

    name: str
    url: str
    # Template names (``shipped``, ``delivered`` …) or event names (``shipment.ship``); empty: all.
    events: tuple[str, ...] = ()
    secret_env: str

    def wants(self, event: str | None, template: str) -> bool:
        return not self.events or template in self.events or (event is not None and event in self.events)


class NotifyPolicy(_Section):
    max_attempts: int = 8
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=1)
    claim_batch: int = 50
    # A claimed message not reported back within this lease is claimed again (crashed worker).
    lease: timedelta = timedelta(minutes=5)
    default_language: str = "zh-CN"
    # Customer-visible events that send the customer a message (event name → template).
    customer_events: dict[str, str] = Field(
        default_factory=lambda: {
            "order.confirm": "confirmed",
            "order.backorder": "out_of_stock",
            "shipment.ship": "shipped",
            "shipment.clear_customs": "customs_cleared",
            "shipment.out_for_delivery": "out_for_delivery",
            "shipment.deliver": "delivered",
            "order.cancel": "cancelled",
            "order.reject": "cancelled",
            "review.intercepted": "under_review",
            "payment.refunded": "refunded",
            "order.delayed": "delayed",
        }
    )
    # Webhook subscribers (TOML ``[[notify.webhooks]]`` with name, url, events, secret_env).
    webhooks: tuple[WebhookSubscriber, ...] = ()
    # Receivers refuse a signed request whose timestamp is further than this from their clock.
    webhook_tolerance: timedelta = timedelta(minutes=5)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    mail_from: str = "noreply@ordo.local"
    # Staff messages (alerts, reports) go by e-mail: per audience, else to ``staff_email``.
    staff_email: str = "ops@ordo.local"
    staff_routes: dict[str, str] = Field(default_factory=dict)
    sms_outbox_file: str = "var/sms.log"
    # The public order-status query, per client address (a `limits` rate such as "20/minute"):
    # enough for a customer, too few to guess order numbers and phone digits.
    track_rate_limit: str = "20/minute"

    @field_validator("track_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        parse(value)  # raises ValueError on a malformed rate
        return value


# --- documents (issue 5, "Documents") -------------------------------------------------------------


class DocumentsPolicy(_Section):
    # The "expected times" of the customer order confirmation (002: 预计时效): the order's clocks of
    # these steps, in this order, with the label printed beside each deadline.
    confirmation_steps: dict[str, str] = Field(
        default_factory=lambda: {
            "ship_normal": "预计发货 Ships by",
            "ship_promotion": "预计发货 Ships by",
            "ship_fresh": "预计发货 Ships by",
            "warehouse_preparation_cross_border": "出库备货 Leaves the warehouse by",
            "warehouse_preparation_overseas": "出库备货 Leaves the warehouse by",
            "booking_and_declaration": "订舱报关 Export declared by",
            "customs_clearance": "清关 Customs cleared by",
            "last_mile_start": "末端派送 Out for delivery by",
        }
    )
    # How the customer follows the order (002: 提供订单查询方式); {number} is the order number.
    confirmation_query_hint: str = (
        "订单查询 Track your order: GET /api/v1/track/{number} (订单号 order number + 手机后四位 last 4 phone digits)"
    )


class Policy(_Section):
    intake: IntakePolicy = Field(default_factory=IntakePolicy)
    review: ReviewPolicy = Field(default_factory=ReviewPolicy)
    risk: RiskPolicy = Field(default_factory=RiskPolicy)
    inventory: InventoryPolicy = Field(default_factory=InventoryPolicy)
    quality: QualityPolicy = Field(default_factory=QualityPolicy)
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy)
    shipping: ShippingPolicy = Field(default_factory=ShippingPolicy)
    warehouse: WarehousePolicy = Field(default_factory=WarehousePolicy)
    time_limits: dict[str, TimeLimit] = Field(default_factory=_default_time_limits)
    progress_checks: tuple[str, ...] = ("09:00", "15:00")
    sla: SlaPolicy = Field(default_factory=SlaPolicy)
    notify: NotifyPolicy = Field(default_factory=NotifyPolicy)
    documents: DocumentsPolicy = Field(default_factory=DocumentsPolicy)
    business_timezone: str = "Asia/Shanghai"

"""Messages in the caller's language (en, zh-CN), chosen from ``Accept-Language``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LOCALES = ("en", "zh-CN")

MESSAGES: dict[str, dict[str, str]] = {
    # Generic
    "validation_failed": {"en": "The request has invalid fields.", "zh-CN": "请求中有字段不合法。"},
    "not_found": {"en": "{kind} {ident} not found.", "zh-CN": "未找到{kind} {ident}。"},
    "illegal_transition": {
        "en": '{entity} is {state}; "{action}" is not allowed. Allowed actions: {allowed}.',
        "zh-CN": "{entity}当前状态为 {state}，不允许执行“{action}”。可执行的操作：{allowed}。",
    },
    "unauthenticated": {
        "en": "A valid API token is required (Authorization: Bearer <token>).",
        "zh-CN": "需要有效的 API 令牌（Authorization: Bearer <token>）。",
    },
    "bad_credentials": {"en": "Wrong user name or password.", "zh-CN": "用户名或密码错误。"},
    "user_disabled": {"en": 'User "{username}" is disabled.', "zh-CN": "用户“{username}”已停用。"},
    "too_short": {"en": "{path} must have at least {min} characters.", "zh-CN": "{path} 至少需要 {min} 个字符。"},
    "scope_shop_unknown": {"en": '{path}: unknown shop "{value}".', "zh-CN": "{path}：未知店铺“{value}”。"},
    "scope_warehouse_unknown": {"en": '{path}: unknown warehouse "{value}".', "zh-CN": "{path}：未知仓库“{value}”。"},
    "forbidden": {
        "en": 'Your roles ({roles}) may not "{action}".',
        "zh-CN": "您的角色（{roles}）无权执行“{action}”。",
    },
    "payload_too_large": {
        "en": "The request body is larger than {limit} bytes.",
        "zh-CN": "请求体超过 {limit} 字节。",
    },
    "bad_request": {
        "en": "The request body could not be read: it must be JSON in UTF-8.",
        "zh-CN": "无法读取请求体：必须是 UTF-8 编码的 JSON。",
    },
    "rate_limited": {
        "en": "Too many requests; try again in {retry_after} seconds.",
        "zh-CN": "请求过于频繁，请在 {retry_after} 秒后重试。",
    },
    "internal_error": {"en": "Internal error; the change was not saved.", "zh-CN": "内部错误，操作未保存。"},
    # Field problems: generic shapes
    "required": {"en": "{path} is required.", "zh-CN": "{path} 为必填项。"},
    "invalid_type": {"en": "{path} must be {expected}.", "zh-CN": "{path} 必须是{expected_zh}。"},
    "not_negative": {"en": "{path} must not be negative, got {value}.", "zh-CN": "{path} 不能为负数，实际为 {value}。"},
    "too_long": {
        "en": "{path} is longer than {max} characters.",
        "zh-CN": "{path} 超过 {max} 个字符。",
    },
    "nul_character": {
        "en": "{path} contains a NUL character, which is not allowed.",
        "zh-CN": "{path} 含有 NUL 字符，不允许。",
    },
    "unknown_field": {"en": "{path} is not a known field.", "zh-CN": "{path} 不是可识别的字段。"},
    "one_of": {
        "en": '{path}: "{value}" is not one of {allowed}.',
        "zh-CN": "{path}：“{value}”不在可选值 {allowed} 中。",
    },
    "amount_precision": {
        "en": "{path}: {currency} amounts have at most {digits} decimal places, got {value}.",
        "zh-CN": "{path}：{currency} 金额最多 {digits} 位小数，实际为 {value}。",
    },
    # Order intake
    "shop_unknown": {"en": 'shop: unknown shop "{value}".', "zh-CN": "shop：未知店铺“{value}”。"},
    "shop_channel_mismatch": {
        "en": 'channel: shop "{shop}" sells on channel "{expected}", not "{value}".',
        "zh-CN": "channel：店铺“{shop}”属于渠道“{expected}”，而不是“{value}”。",
    },
    "contact_required": {
        "en": "customer: a phone number or an e-mail address is required.",
        "zh-CN": "customer：必须提供电话号码或电子邮箱。",
    },
    "phone_invalid": {
        "en": '{path}: "{value}" is not a valid phone number for {region}.',
        "zh-CN": "{path}：“{value}”不是 {region} 的有效电话号码。",
    },
    "phone_cn_mobile_digits": {
        "en": '{path}: a Chinese mobile number has 11 digits, "{value}" has {digits}.',
        "zh-CN": "{path}：中国大陆手机号应为 11 位，“{value}”为 {digits} 位。",
    },
    "email_invalid": {
        "en": '{path}: "{value}" is not a valid e-mail address.',
        "zh-CN": "{path}：“{value}”不是有效的电子邮箱地址。",
    },
    "country_unknown": {
        "en": '{path}: "{value}" is not an ISO 3166 country code.',
        "zh-CN": "{path}：“{value}”不是 ISO 3166 国家/地区代码。",
    },
    "address_no_postcode": {
        "en": "The delivery address has no postcode (required for cross-border orders).",
        "zh-CN": "收货地址缺少邮政编码（跨境订单必填）。",
    },
    "address_no_province": {
        "en": "The delivery address has no province (required in China).",
        "zh-CN": "收货地址缺少省份（中国境内地址必填）。",
    },
    "address_no_city": {"en": "The delivery address has no city.", "zh-CN": "收货地址缺少城市。"},
    "address_no_district": {
        "en": "The delivery address has no district (required in China).",
        "zh-CN": "收货地址缺少区/县（中国境内地址必填）。",
    },
    "address_no_street": {
        "en": "The delivery address has no street and number.",
        "zh-CN": "收货地址缺少街道和门牌号。",
    },
    "address_no_house_number": {
        "en": '{path}: "{value}" has no house number (required in China).',
        "zh-CN": "{path}：“{value}”缺少门牌号（中国境内地址必填）。",
    },
    "lines_empty": {"en": "lines: an order needs at least one line.", "zh-CN": "lines：订单至少需要一行商品。"},
    "lines_too_many": {
        "en": "lines: an order has at most {max} lines, got {count}.",
        "zh-CN": "lines：订单最多 {max} 行商品，实际为 {count} 行。",
    },
    "sku_unknown": {"en": '{path}: unknown SKU "{value}".', "zh-CN": "{path}：未知 SKU“{value}”。"},
    "sku_duplicate": {
        "en": '{path}: SKU "{value}" is already on {first}; put the whole quantity on one line.',
        "zh-CN": "{path}：SKU“{value}”已出现在 {first}，请合并为一行。",
    },
    "substitute_trait": {
        "en": '{path}: "{value}" is {trait} goods, which the order\'s service type "{service}" does not carry.',
        "zh-CN": "{path}：“{value}”属于{trait_zh}商品，订单的物流服务“{service}”不承运。",
    },
    "sku_prohibited": {
        "en": '{path}: "{value}" is prohibited goods ({reason}) and cannot be accepted.',
        "zh-CN": "{path}：“{value}”属于违禁品（{reason_zh}），不能受理。",
    },
    "quantity_not_positive": {
        "en": "{path}: quantity must be a positive whole number, got {value}.",
        "zh-CN": "{path}：数量必须为正整数，实际为 {value}。",
    },
    "quantity_too_large": {
        "en": "{path}: quantity is at most {max} per line, got {value}.",
        "zh-CN": "{path}：每行数量最多 {max}，实际为 {value}。",
    },
    "service_type_unknown": {
        "en": 'service_type: unknown service type "{value}"; known: {known}.',
        "zh-CN": "service_type：未知物流服务类型“{value}”；可选：{known}。",
    },
    "service_type_destination": {
        "en": 'service_type: "{value}" serves {scope} destinations; the delivery address is in {country}.',
        "zh-CN": "service_type：“{value}”仅服务{scope_zh}目的地，收货地址位于 {country}。",
    },
    "service_type_goods": {
        "en": 'service_type: "{value}" does not carry {trait} goods ({skus}).',
        "zh-CN": "service_type：“{value}”不承运{trait_zh}商品（{skus}）。",
    },
    "service_fee_too_low": {
        "en": 'shipping_fee: service type "{service}" costs at least {minimum} {currency}, got {value}.',
        "zh-CN": "shipping_fee：物流服务“{service}”运费至少 {minimum} {currency}，实际为 {value}。",
    },
    "cross_border_domestic": {
        "en": "order_class: a cross-border order needs a delivery address outside {home}.",
        "zh-CN": "order_class：跨境订单的收货地址必须在 {home} 以外。",
    },
    "total_mismatch": {
        "en": "total: lines {lines} + shipping {shipping} − discounts {discounts} = {expected}, not {value}.",
        "zh-CN": "total：商品 {lines} + 运费 {shipping} − 优惠 {discounts} = {expected}，而不是 {value}。",
    },
    "discount_exceeds": {
        "en": "discounts: {value} is more than the goods and shipping ({gross}).",
        "zh-CN": "discounts：优惠 {value} 超过商品与运费合计（{gross}）。",
    },
    "paid_amount_mismatch": {
        "en": "payment.amount_paid: a paid order must be paid in full ({total}), got {value}.",
        "zh-CN": "payment.amount_paid：已支付订单须全额支付（{total}），实际为 {value}。",
    },
    "unpaid_amount_nonzero": {
        "en": "payment.amount_paid: an unpaid order has paid nothing, got {value}.",
        "zh-CN": "payment.amount_paid：未支付订单的已付金额应为 0，实际为 {value}。",
    },
    "idempotency_conflict": {
        "en": (
            'An order from shop "{shop}" with external id "{external_id}" already exists ({number}) '
            "with different content: {fields}."
        ),
        "zh-CN": "店铺“{shop}”外部单号“{external_id}”的订单已存在（{number}），但内容不同：{fields}。",
    },
    # Lifecycle
    # Review and risk
    "review_not_open": {
        "en": "Order {number} is not waiting for review.",
        "zh-CN": "订单 {number} 不在待审核状态。",
    },
    "review_claimed": {
        "en": "Order {number} is being reviewed by {by}.",
        "zh-CN": "订单 {number} 正由 {by} 审核。",
    },
    "second_review_same_person": {
        "en": "Order {number}: {by} gave the first approval and cannot also give the second.",
        "zh-CN": "订单 {number}：{by} 已做一级审核，不能再做二级审核。",
    },
    "no_contact_waiting": {
        "en": "Order {number} has no contact attempt waiting for an answer.",
        "zh-CN": "订单 {number} 没有等待客户回复的联系记录。",
    },
    "review_rules_changed": {
        "en": "The review rules were changed by someone else (version {version}); reload and try again.",
        "zh-CN": "审核规则已被他人修改（版本 {version}），请刷新后重试。",
    },
    "in_future": {
        "en": "{path} must not be in the future, got {value}.",
        "zh-CN": "{path} 不能晚于当前时间，实际为 {value}。",
    },
    "too_many": {
        "en": "{path} has {count} items; at most {max} are allowed.",
        "zh-CN": "{path} 有 {count} 项，最多允许 {max} 项。",
    },
    "account_format": {
        "en": '{path}: "{value}" must be written channel:account (or customer:id).',
        "zh-CN": "{path}：“{value}”应写作 渠道:账号（或 customer:客户编号）。",
    },
    "risk.blacklisted": {
        "en": "The {what} is on the blacklist (entry {entry}): {reason}.",
        "zh-CN": "该{what}在黑名单中（条目 {entry}）：{reason}。",
    },
    "risk.abusive_remark": {
        "en": "The remark contains abusive or threatening words: {words}.",
        "zh-CN": "订单备注含辱骂或威胁性词语：{words}。",
    },
    "risk.virtual_phone": {
        "en": "The phone number {phone} belongs to a virtual operator.",
        "zh-CN": "手机号 {phone} 属于虚拟运营商号段。",
    },
    "risk.cancel_reorder": {
        "en": "The account cancelled {count} orders in the last {window}: {orders}.",
        "zh-CN": "该账号在最近 {window} 内取消了 {count} 个订单：{orders}。",
    },
    "risk.same_phone": {
        "en": "The same phone placed {count} orders in the last {window}: {orders}.",
        "zh-CN": "同一手机号在最近 {window} 内下了 {count} 个订单：{orders}。",
    },
    "risk.same_address": {
        "en": "The same delivery address received {count} orders in the last {window}: {orders}.",
        "zh-CN": "同一收货地址在最近 {window} 内有 {count} 个订单：{orders}。",
    },
    "risk.duplicate": {
        "en": "Same {by} ordered the same goods ({skus}) within {window}: {orders}.",
        "zh-CN": "同一{by}在 {window} 内重复购买相同商品（{skus}）：{orders}。",
    },
    "risk.second_review": {
        "en": "Needs the department head's second review: {why}.",
        "zh-CN": "需部门主管二级审核：{why}。",
    },
    "risk.remote_address": {"en": "The address is in a remote area.", "zh-CN": "收货地址属于偏远地区。"},
    "risk.payment_verification": {
        "en": "Payment by {method}: confirm the order with the customer.",
        "zh-CN": "付款方式为 {method}：需与客户核实订单。",
    },
    "risk.promotion_approve": {
        "en": "Promotion order of {amount} (limit {limit}) with a good address: approved automatically.",
        "zh-CN": "促销订单金额 {amount}（上限 {limit}），地址无问题：自动通过。",
    },
    "bin_invalid": {
        "en": '{path}: "{value}" is not a bin address (aisle, slot and side, e.g. A03-015-L).',
        "zh-CN": "{path}：“{value}”不是有效的库位（巷道、货位和左右侧，如 A03-015-L）。",
    },
    "not_backordered": {
        "en": "Order {number} is {status}, not waiting for stock.",
        "zh-CN": "订单 {number} 当前为 {status}，不在缺货等待中。",
    },
    "unknown_line": {"en": "{path}: the order has no line {value}.", "zh-CN": "{path}：订单没有第 {value} 行。"},
    "hold_exists": {
        "en": 'Order {number} is already on hold for "{reason}".',
        "zh-CN": "订单 {number} 已因“{reason}”挂起。",
    },
    "placed_at_no_offset": {
        "en": 'placed_at: "{value}" has no time-zone offset (e.g. +08:00 or Z).',
        "zh-CN": "placed_at：“{value}”缺少时区偏移（例如 +08:00 或 Z）。",
    },
    "adjustment_out_of_range": {
        "en": "{path}: an adjustment is a whole number from -{max} to {max}, not 0; got {value}.",
        "zh-CN": "{path}：调整数量须为 -{max} 到 {max} 之间的非零整数，实际为 {value}。",
    },
    "stock_below_reserved": {
        "en": (
            'Adjusting "{sku}" in {warehouse} by {delta} would leave less on hand ({on_hand}) than is reserved '
            "for orders ({reserved})."
        ),
        "zh-CN": (
            "将仓库 {warehouse} 中“{sku}”调整 {delta} 后，在库数（当前 {on_hand}）将少于订单已预留数（{reserved}）。"
        ),
    },
    "transfer_same_warehouse": {
        "en": '{path}: "{value}" is also the source; a transfer moves stock between two warehouses.',
        "zh-CN": "{path}：“{value}”与调出仓相同；调拨须在两个仓库之间进行。",
    },
    "transfer_short": {
        "en": 'Warehouse {warehouse} has {available} of "{sku}" available to move, {requested} requested.',
        "zh-CN": "仓库 {warehouse} 中“{sku}”可调拨 {available}，申请 {requested}。",
    },
    "close_paid": {
        "en": "Order {number} is {payment}; only unpaid orders are closed, cancel it instead.",
        "zh-CN": "订单 {number} 支付状态为 {payment}；只有未支付订单可关闭，请改为取消。",
    },
    "hold_missing": {"en": 'Order {number} has no hold "{reason}".', "zh-CN": "订单 {number} 没有“{reason}”挂起。"},
    "shipment_not_open": {
        "en": "Order {number} has no shipment in state {state}.",
        "zh-CN": "订单 {number} 没有处于 {state} 状态的包裹。",
    },
    "cancel_after_handover": {
        "en": "Order {number} has shipment {shipment} already handed over to the carrier; intercept it instead.",
        "zh-CN": "订单 {number} 的包裹 {shipment} 已交承运商，请改为拦截。",
    },
    "reference_exists": {"en": '{kind} "{ident}" already exists.', "zh-CN": "{kind}“{ident}”已存在。"},
    "reference_in_use": {
        "en": '{kind} "{ident}" is used by {count} orders and cannot be deleted.',
        "zh-CN": "{kind}“{ident}”已被 {count} 个订单使用，不能删除。",
    },
    "stock_insufficient": {
        "en": 'Warehouse {warehouse} has {available} of "{sku}" available, {requested} requested.',
        "zh-CN": "仓库 {warehouse} 中“{sku}”可用 {available}，需要 {requested}。",
    },
    # Reference data (shops, SKUs, warehouses, customers, stock receipts, catalog import)
    "code_invalid": {
        "en": '{path}: "{value}" may contain only letters, digits, ".", "_" and "-", and must start with a letter '
              "or digit.",
        "zh-CN": "{path}：“{value}”只能包含字母、数字、“.”、“_”和“-”，且须以字母或数字开头。",
    },
    "identifier_invalid": {
        "en": '{path}: "{value}" may contain only lower-case letters, digits and "_".',
        "zh-CN": "{path}：“{value}”只能包含小写字母、数字和“_”。",
    },
    "out_of_range": {
        "en": "{path} must be between {min} and {max}, got {value}.",
        "zh-CN": "{path} 必须在 {min} 到 {max} 之间，实际为 {value}。",
    },
    "hs_code_invalid": {
        "en": '{path}: "{value}" is not an HS code (6 to 10 digits).',
        "zh-CN": "{path}：“{value}”不是有效的 HS 编码（6 到 10 位数字）。",
    },
    "barcode_taken": {
        "en": '{path}: barcode "{value}" is already used by SKU "{sku}".',
        "zh-CN": "{path}：条码“{value}”已被 SKU“{sku}”使用。",
    },
    "phone_or_email_required": {
        "en": "{path}: a phone number or an e-mail address is required.",
        "zh-CN": "{path}：必须提供电话号码或电子邮箱。",
    },
    "warehouse_unknown": {"en": '{path}: unknown warehouse "{value}".', "zh-CN": "{path}：未知仓库“{value}”。"},
    "reference_inactive": {
        "en": '{path}: {kind} "{value}" is inactive.',
        "zh-CN": "{path}：{kind}“{value}”已停用。",
    },
    "duplicate_in_file": {
        "en": '{path}: "{value}" already appears at {first}.',
        "zh-CN": "{path}：“{value}”已在 {first} 出现。",
    },
    "calendar_unknown": {
        "en": "The business calendar does not know {day}: enter the days of {year} in the calendar overrides.",
        "zh-CN": "业务日历不包含 {day}：请在日历覆盖表中录入 {year} 年的工作日和节假日。",
    },
    # Cross-border legs
    "leg_not_planned": {
        "en": 'Service type "{service_type}" has no {leg} leg; its legs: {legs}.',
        "zh-CN": "服务类型“{service_type}”没有{leg}环节；其环节为：{legs}。",
    },
    "leg_completed": {"en": "The {leg} leg is already completed.", "zh-CN": "{leg}环节已完成。"},
    "leg_out_of_order": {
        "en": "The legs happen in order: {leg} cannot be recorded now; the next leg is {expected}.",
        "zh-CN": "各环节须按顺序进行：现在不能记录{leg}；下一个环节是{expected}。",
    },
    "leg_shipment_state": {
        "en": "Shipment {shipment} is {state}; the {leg} leg needs it to be {states}.",
        "zh-CN": "包裹 {shipment} 当前状态为 {state}；{leg}环节要求状态为 {states}。",
    },
    "export_not_declared": {
        "en": "Shipment {shipment} needs its export declaration (HS code, declared value, origin per line) "
              "recorded as the export_declaration leg first.",
        "zh-CN": "包裹 {shipment} 须先在出口报关环节录入报关资料（每行的 HS 编码、申报价值、原产国）。",
    },
    "customs_not_cleared": {
        "en": "Shipment {shipment} is an international shipment and has not cleared customs.",
        "zh-CN": "包裹 {shipment} 是国际包裹，尚未清关。",
    },
    "time_in_future": {"en": "{path} lies in the future: {value}.", "zh-CN": "{path} 是将来的时间：{value}。"},
    "arrival_before_departure": {
        "en": "{path}: the arrival {value} is before the departure {departed}.",
        "zh-CN": "{path}：到达时间 {value} 早于出发时间 {departed}。",
    },
    "declaration_line_unknown": {
        "en": "{path}: the shipment has only {count} lines.",
        "zh-CN": "{path}：该包裹只有 {count} 行。",
    },
    "not_positive": {
        "en": "{path} must be greater than 0, got {value}.",
        "zh-CN": "{path} 必须大于 0，实际为 {value}。",
    },
    # Warehouse floor, pick lists and scans
    "layout_length_range": {
        "en": "{path} must be more than 0 and at most {max} metres, got {value}.",
        "zh-CN": "{path} 必须大于 0 且不超过 {max} 米，实际为 {value}。",
    },
    "layout_slot_too_long": {
        "en": "{path}: a slot of {value} m is longer than the aisle ({length} m).",
        "zh-CN": "{path}：货位长 {value} 米，超过巷道长度（{length} 米）。",
    },
    "layout_too_many_slots": {
        "en": "{path}: aisles of {length} m would hold more than {max} slots of {value} m.",
        "zh-CN": "{path}：{length} 米的巷道按 {value} 米一个货位将超过 {max} 个货位。",
    },
    "layout_cross_aisle_outside": {
        "en": "{path}: a middle cross aisle at {value} m must lie between the front (0 m) and the back ({length} m).",
        "zh-CN": "{path}：中间横向通道位于 {value} 米，必须在前通道（0 米）与后通道（{length} 米）之间。",
    },
    "duplicate_value": {"en": "{path}: {value} appears twice.", "zh-CN": "{path}：{value} 重复出现。"},
    "layout_strands_bins": {
        "en": "{path}: bins {bins} of warehouse {warehouse} would lie outside this layout; move them first.",
        "zh-CN": "{path}：仓库 {warehouse} 的库位 {bins} 将落在该布局之外，请先调整库位。",
    },
    "bin_outside_layout": {
        "en": '{path}: bin "{value}" is outside the layout of warehouse {warehouse} '
              "({aisles} aisles, {slots} slots per side).",
        "zh-CN": "{path}：库位“{value}”超出仓库 {warehouse} 的布局（{aisles} 条巷道，每侧 {slots} 个货位）。",
    },
    "pick_bin_missing": {
        "en": "Warehouse {warehouse} has no bin within its layout for {skus}; set one (PUT /api/v1/stock/bins) "
              "before releasing pick lists.",
        "zh-CN": "仓库 {warehouse} 中 {skus} 没有布局内的库位；请先设置库位（PUT /api/v1/stock/bins）再生成拣货单。",
    },
    "pick_list_taken": {
        "en": "Pick list {number} is already {status} (picker: {picker}).",
        "zh-CN": "拣货单 {number} 已是 {status} 状态（拣货员：{picker}）。",
    },
    "scan_unknown_barcode": {
        "en": 'Barcode "{barcode}" belongs to no SKU; nothing was counted for shipment {shipment}.',
        "zh-CN": "条码“{barcode}”不属于任何 SKU；包裹 {shipment} 未计数。",
    },
    "scan_wrong_sku": {
        "en": 'SKU "{sku}" is not in shipment {shipment} (it holds {expected}); nothing was counted.',
        "zh-CN": "SKU“{sku}”不在包裹 {shipment} 中（应有：{expected}）；未计数。",
    },
    "scan_too_many": {
        "en": 'Shipment {shipment} needs {expected} of "{sku}" at the {stage} stage; {scanned} already scanned, '
              "{quantity} more would be too many; nothing was counted.",
        "zh-CN": "包裹 {shipment} 在{stage_zh}环节需要“{sku}” {expected} 件，已扫描 {scanned} 件，"
                 "再扫 {quantity} 件将超出；未计数。",
    },
    "scan_wrong_state": {
        "en": "Shipment {shipment} is {state}; {stage} scans are taken while it is {needed}.",
        "zh-CN": "包裹 {shipment} 当前状态为 {state}；{stage_zh}扫描只能在 {needed} 状态进行。",
    },
    "pick_incomplete": {
        "en": "Shipment {shipment} cannot finish picking: still to scan {missing}.",
        "zh-CN": "包裹 {shipment} 不能完成拣货：尚未扫描 {missing}。",
    },
    "check_incomplete": {
        "en": "Shipment {shipment} cannot be checked: still to scan at the check {missing}.",
        "zh-CN": "包裹 {shipment} 不能完成复核：复核尚未扫描 {missing}。",
    },
    "check_same_person": {
        "en": "Shipment {shipment} was picked by {pickers}; a second person must check it, not {actor}.",
        "zh-CN": "包裹 {shipment} 由 {pickers} 拣货；复核须由另一人完成，不能是 {actor}。",
    },
    "message_not_dead": {
        "en": "Message {ident} is not a dead letter.",
        "zh-CN": "消息 {ident} 不是死信。",
    },
    # Documents (PDF)
    "carrier_label_failed": {
        "en": "Carrier {carrier} could not give the label of shipment {shipment}: {detail}",
        "zh-CN": "承运商 {carrier} 无法提供包裹 {shipment} 的面单：{detail}",
    },
    "pdf_font_missing": {
        "en": "The PDF font {path} cannot be used ({why}): set ORDO_PDF_FONT to a TrueType font (.ttf or .ttc) "
              "with Chinese glyphs, or install the package paperang-p2-fonts-cjk.",
        "zh-CN": "无法使用 PDF 字体 {path}（{why}）：请将 ORDO_PDF_FONT 设为含中文字形的 TrueType 字体"
                 "（.ttf 或 .ttc），或安装 paperang-p2-fonts-cjk 包。",
    },
    "label_no_tracking": {
        "en": "Shipment {shipment} has no tracking number yet; its label is printed once the carrier has given one.",
        "zh-CN": "包裹 {shipment} 尚无运单号；承运商分配运单号后才能打印面单。",
    },
    # Shipping: packing, carriers, tracking, follow-ups
    "packing_unconfirmed": {
        "en": "Shipment {shipment} cannot be packed: packing instructions not confirmed: {missing}.",
        "zh-CN": "发货单 {shipment} 不能打包：以下包装要求未确认：{missing}。",
    },
    "packing_no_parcels": {
        "en": "Shipment {shipment} cannot be packed: no parcel has been weighed and measured.",
        "zh-CN": "发货单 {shipment} 不能打包：还没有称重和测量任何包裹。",
    },
    "packing_logger_missing": {
        "en": "Shipment {shipment} holds perishable goods: a temperature-logger id is required to pack it.",
        "zh-CN": "发货单 {shipment} 含生鲜易腐商品：打包需要填写温度记录仪编号。",
    },
    "packing_not_now": {
        "en": "Shipment {shipment} is {state}; packing is recorded only for a checked shipment.",
        "zh-CN": "发货单 {shipment} 当前状态为 {state}；只有已复核的发货单可以登记打包。",
    },
    "carrier_not_chosen": {
        "en": "Shipment {shipment} has no carrier yet: pack it first or choose a carrier.",
        "zh-CN": "发货单 {shipment} 尚未选定承运商：请先打包或指定承运商。",
    },
    "carrier_unknown": {
        "en": '{path}: unknown carrier "{value}" (known: {allowed}).',
        "zh-CN": "{path}：未知承运商“{value}”（可选：{allowed}）。",
    },
    "carrier_change_not_allowed": {
        "en": "Shipment {shipment} is {state}; the carrier can be changed only while it is packed.",
        "zh-CN": "发货单 {shipment} 当前状态为 {state}；只有已打包未交接时才能更换承运商。",
    },
    "carrier_failed": {
        "en": "Carrier {carrier} refused the booking of shipment {shipment}: {detail}",
        "zh-CN": "承运商 {carrier} 拒绝了发货单 {shipment} 的下单：{detail}",
    },
    "intercept_not_allowed": {
        "en": "Shipment {shipment} is {state}; only a shipment with the carrier and not yet delivered can be "
              "intercepted.",
        "zh-CN": "发货单 {shipment} 当前状态为 {state}；只有已交给承运商且尚未签收的发货单才能拦截。",
    },
    "carrier_intercept_failed": {
        "en": "Carrier {carrier} could not intercept shipment {shipment}: {detail}. Nothing was changed.",
        "zh-CN": "承运商 {carrier} 无法拦截发货单 {shipment}：{detail}。未做任何更改。",
    },
    "booking_conflict": {
        "en": "Shipment {shipment} was booked at hand-over with carrier {carrier}, service {service}, tracking "
              "number {tracking_number}; the request names another {fields}. Ship with the booking, or set "
              "override_booking with a reason.",
        "zh-CN": "发货单 {shipment} 交接时已向承运商 {carrier} 下单（服务 {service}，运单号 {tracking_number}）；"
                 "请求中的{fields}与之不同。请按已下的单发运，或设置 override_booking 并说明原因。",
    },
    "tracking_number_taken": {
        "en": '{path}: tracking number "{value}" already belongs to shipment {other}; a tracking number '
              "identifies one parcel.",
        "zh-CN": "{path}：运单号“{value}”已属于发货单 {other}；一个运单号只对应一个包裹。",
    },
    "tracking_number_shipments": {
        "en": "{path}: the order has {count} shipments to {action}; a tracking number identifies one parcel, "
              "so name the shipment it belongs to.",
        "zh-CN": "{path}：该订单有 {count} 个发货单待{action}；一个运单号只对应一个包裹，请指明所属发货单。",
    },
    "tracking_not_allowed": {
        "en": 'Shipment {shipment} is {state}; the tracking event "{event}" is not allowed.',
        "zh-CN": "发货单 {shipment} 当前状态为 {state}，不接受物流事件“{event}”。",
    },
    "tracking_row_not_allowed": {
        "en": 'rows[{row}]: shipment {shipment} is {state}; the tracking event "{event}" is not allowed.',
        "zh-CN": "rows[{row}]：发货单 {shipment} 当前状态为 {state}，不接受物流事件“{event}”。",
    },
    "tracking_number_unknown": {
        "en": '{path}: no shipment has tracking number "{value}".',
        "zh-CN": "{path}：没有运单号为“{value}”的发货单。",
    },
    "followup_done_already": {
        "en": "Follow-up task {ident} is already done.",
        "zh-CN": "跟进任务 {ident} 已完成。",
    },
}

_ZH_WORDS = {
    "a string": "字符串",
    "a whole number": "整数",
    "a decimal number": "数字",
    "an object": "对象",
    "a list": "列表",
    "true or false": "布尔值",
    "domestic": "国内",
    "international": "国际",
    "fragile": "易碎",
    "liquid": "液体",
    "perishable": "生鲜易腐",
    "electronics": "电子",
    "bulky": "大件",
    "prohibited": "违禁",
    "flammable": "易燃品",
    "explosive": "易爆品",
    "controlled_knives": "管制刀具",
    "firearms": "枪支弹药",
    "pick": "拣货",
    "check": "复核",
}


def zh_word(word: str) -> str:
    return _ZH_WORDS.get(word, word)


def negotiate(accept_language: str | None, default: str = "en") -> str:
    """Pick en or zh-CN from an Accept-Language header, honouring q-values."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:  # also catches nan
                    quality = 0.0
        ranked.append((-quality, index, tag.lower()))
    for negative_q, _, tag in sorted(ranked):
        if negative_q == 0:
            continue
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        if key.endswith("_zh"):
            return zh_word(str(self.get(key[:-3], "")))
        return "{" + key + "}"


def translate(key: str, locale: str, params: Mapping[str, Any] | None = None) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    template = entry.get(locale) or entry["en"]
    return template.format_map(_Defaulting(params or {}))

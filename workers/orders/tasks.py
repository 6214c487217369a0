"""Orders robot: producer -> consumer -> reporter over work items.

Runs unchanged on robocorp.tasks/robocorp.workitems and on robotni:

    python -m robocorp.tasks run workers/orders/tasks.py -t producer
    python -m robocorp.tasks run workers/orders/tasks.py -t consumer
    python -m robocorp.tasks run workers/orders/tasks.py -t reporter

Locally use the FileAdapter env of devdata/env-for-<task>.json (paths are
relative to the repository root, the robot root).
"""

import csv
import io
import json
import os
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from robocorp import workitems
from robocorp.tasks import get_output_dir, task

# Unit prices (EUR) of the catalogue.
CATALOGUE = {
    "WIDGET-S": Decimal("4.90"),
    "WIDGET-L": Decimal("12.50"),
    "GADGET-PRO": Decimal("149.00"),
    "CABLE-USB-C": Decimal("9.99"),
    "DOCK-4K": Decimal("219.00"),
    "MOUSE-ERGO": Decimal("59.90"),
    "KEYBOARD-MX": Decimal("119.00"),
}
VAT = {"FI": Decimal("0.255"), "DE": Decimal("0.19"), "SE": Decimal("0.25"),
       "GB": Decimal("0.20"), "US": Decimal("0")}
BULK_QUANTITY = 10
BULK_DISCOUNT = Decimal("0.05")
CENT = Decimal("0.01")


def _robot_root() -> Path:
    return Path(os.environ.get("ROBOT_ROOT") or os.getcwd())


def _artifacts_dir() -> Path:
    out = os.environ.get("ROBOT_ARTIFACTS") or get_output_dir() or (_robot_root() / "output")
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_orders_csv(item) -> str:
    """The CSV attached to the input item, else devdata/orders.csv."""
    if item is not None and "orders.csv" in item.files:
        return item.get_file("orders.csv", _artifacts_dir() / "orders-input.csv").read_text(
            encoding="utf-8"
        )
    return (_robot_root() / "devdata" / "orders.csv").read_text(encoding="utf-8")


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


@task
def producer():
    """Split the orders CSV of the input item into one output item per order."""
    item = workitems.inputs.current
    text = _read_orders_csv(item)
    count = 0
    for row in csv.DictReader(io.StringIO(text)):
        order = {key: (value or "").strip() for key, value in row.items() if key}
        workitems.outputs.create(payload={"order": order})
        count += 1
    item.done()
    print(f"Produced {count} order work items")


def _validate(order: dict) -> int:
    if not order.get("order_id"):
        raise workitems.BusinessException(code="MISSING_ORDER_ID", message="Order has no id")
    if not order.get("customer"):
        raise workitems.BusinessException(
            code="MISSING_CUSTOMER", message=f"Order {order['order_id']} has no customer"
        )
    if order.get("product") not in CATALOGUE:
        raise workitems.BusinessException(
            code="UNKNOWN_PRODUCT",
            message=f"Order {order['order_id']}: unknown product {order.get('product')!r}",
        )
    try:
        quantity = int(order.get("quantity", ""))
    except ValueError:
        raise workitems.BusinessException(
            code="INVALID_QUANTITY",
            message=f"Order {order['order_id']}: quantity {order.get('quantity')!r} is not a number",
        )
    if quantity <= 0:
        raise workitems.BusinessException(
            code="INVALID_QUANTITY",
            message=f"Order {order['order_id']}: quantity must be positive, got {quantity}",
        )
    return quantity


@task
def consumer():
    """Validate each order and compute its totals; invalid orders fail as BUSINESS."""
    processed = rejected = 0
    for item in workitems.inputs:
        with item:
            order = (item.payload or {}).get("order") or {}
            try:
                quantity = _validate(order)
            except workitems.BusinessException as exc:
                # Keep an audit trail for the reporter, then fail the item.
                workitems.outputs.create(payload={
                    "order_id": order.get("order_id"),
                    "status": "rejected",
                    "code": exc.code,
                    "message": exc.message,
                })
                rejected += 1
                raise

            unit = CATALOGUE[order["product"]]
            net = unit * quantity
            discount = (net * BULK_DISCOUNT) if quantity >= BULK_QUANTITY else Decimal(0)
            vat_rate = VAT.get(order.get("country", ""), Decimal(0))
            vat = (net - discount) * vat_rate
            total = net - discount + vat
            workitems.outputs.create(payload={
                "order_id": order["order_id"],
                "status": "accepted",
                "customer": order["customer"],
                "country": order.get("country", ""),
                "product": order["product"],
                "quantity": quantity,
                "unit_price": _money(unit),
                "net": _money(net),
                "discount": _money(discount),
                "vat": _money(vat),
                "total": _money(total),
            })
            processed += 1
    print(f"Consumed {processed + rejected} orders: {processed} accepted, {rejected} rejected")


@task
def reporter():
    """Aggregate the consumer's results into summary.json / summary.txt."""
    accepted, rejected = [], []
    for item in workitems.inputs:
        with item:
            result = item.payload or {}
            if result.get("status") == "accepted":
                accepted.append(result)
            elif result.get("status") == "rejected":
                rejected.append(result)

    by_product = defaultdict(lambda: {"orders": 0, "quantity": 0, "total": Decimal(0)})
    for r in accepted:
        p = by_product[r["product"]]
        p["orders"] += 1
        p["quantity"] += r["quantity"]
        p["total"] += Decimal(r["total"])
    by_customer = Counter()
    for r in accepted:
        by_customer[r["customer"]] += Decimal(r["total"])

    grand_total = sum((Decimal(r["total"]) for r in accepted), Decimal(0))
    summary = {
        "orders": len(accepted) + len(rejected),
        "accepted": len(accepted),
        "rejected": len(rejected),
        "grand_total": _money(grand_total),
        "currency": "EUR",
        "by_product": {
            name: {"orders": v["orders"], "quantity": v["quantity"], "total": _money(v["total"])}
            for name, v in sorted(by_product.items())
        },
        "top_customers": [
            {"customer": c, "total": _money(t)} for c, t in by_customer.most_common(3)
        ],
        "rejections": [
            {"order_id": r.get("order_id"), "code": r.get("code"), "message": r.get("message")}
            for r in rejected
        ],
    }

    lines = [
        f"Orders: {summary['orders']}  accepted: {summary['accepted']}  "
        f"rejected: {summary['rejected']}",
        "",
        f"{'Product':<14}{'Orders':>8}{'Qty':>8}{'Total EUR':>14}",
        "-" * 44,
    ]
    for name, v in summary["by_product"].items():
        lines.append(f"{name:<14}{v['orders']:>8}{v['quantity']:>8}{v['total']:>14}")
    lines += ["-" * 44, f"{'TOTAL':<30}{summary['grand_total']:>14}", ""]
    if rejected:
        lines.append("Rejected orders:")
        for r in summary["rejections"]:
            lines.append(f"  {r['order_id']:<10} {r['code']:<18} {r['message']}")
    text = "\n".join(lines) + "\n"

    out = _artifacts_dir()
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out / "summary.txt").write_text(text, encoding="utf-8")
    print(text, end="")

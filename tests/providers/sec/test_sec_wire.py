"""SEC wire shapes (one module holds every name) and RUT normalisation / check digits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reconciler.config.sec import check_digit, normalise_rut, rut_problem
from reconciler.providers.sec import wire


def dotted(body: str, digit: str) -> str:
    groups = []
    while len(body) > 3:
        body, groups = body[:-3], [body[-3:], *groups]
    return ".".join([body, *groups]) + "-" + digit


@given(st.integers(1_000_000, 99_999_999))
def test_any_rut_with_its_check_digit_is_valid_however_written(number: int) -> None:
    body = str(number)
    digit = check_digit(body)
    for written in (body + digit, dotted(body, digit.upper()), f"{body}-{digit.upper()}", f" {body}-{digit} "):
        assert rut_problem(written) is None
        assert normalise_rut(written) == body + digit


@given(st.integers(1_000_000, 99_999_999), st.sampled_from("0123456789k"))
def test_a_wrong_check_digit_is_refused_without_repeating_the_value(number: int, digit: str) -> None:
    body = str(number)
    problem = rut_problem(body + digit)
    assert (problem is None) == (digit == check_digit(body))
    if problem is not None:
        assert body not in problem


def test_documented_examples() -> None:
    assert rut_problem("111111111") is None                  # the guide's sign-in sample
    assert check_digit("76123403") == "k"
    assert rut_problem("76.123.403-K") is None
    assert rut_problem("") is not None and rut_problem("k") is not None and rut_problem("12a45678-5") is not None


def test_bodies_follow_the_guide_samples() -> None:
    assert wire.evse_body("9999", {"status": "DISPONIBLE", "physical_reference": "Estacionamiento 3"}) == {
        "evse_uid": 9999, "status": "DISPONIBLE", "physical_reference": "Estacionamiento 3"}
    # The spelling chosen where the guide contradicts itself (table: payment_capacibilities).
    assert wire.evse_body("9999", {"payment_capabilities": ["APP", "DEBITO"], "activation_capabilities": ["APP", "QR"]}) \
        == {"evse_uid": 9999, "payment_capabilities": ["APP", "DEBITO"], "activation_capabilities": ["APP", "QR"]}
    assert wire.connector_body("9999", {"status": "OCUPADO", "electric_power": 7.4}) == {
        "connector_id": 9999, "status": "OCUPADO", "electric_power": 7.4}
    attrs = {"order_number": 1, "min_price": 0, "max_price": 15000, "tariff_alt_url": "https://www.sec.cl",
             "components": [{"dimension": "FLAT", "price": 10.0}, {"dimension": "ENERGY", "price": 250}]}
    assert wire.tariff_create_body("9999", attrs) == {
        "connector_id": 9999, "order_number": 1, "min_price": 0, "max_price": 15000, "tariff_alt_url": "https://www.sec.cl",
        "elements": {"price_components": [{"order_number": 1, "tariff_dimension": "CARGO FIJO", "price": 10},
                                          {"order_number": 2, "tariff_dimension": "ENERGIA", "price": 250}]}}
    assert wire.tariff_update_body("999", attrs, ["max_price"]) == {
        "tariff_id": "999", "max_price": 15000, "elements": wire.elements(attrs["components"])}
    assert wire.tariff_delete_body("999") == {"tariff_id": 999}
    assert wire.DIMENSIONS == {"ENERGY": "ENERGIA", "TIME": "TIEMPO", "FLAT": "CARGO FIJO", "POWER": "POTENCIA"}


def test_a_create_answer_may_or_may_not_carry_the_id() -> None:
    assert wire.created_tariff_id({"statusCode": 201, "message": "Tariff created successfully"}) is None
    assert wire.created_tariff_id({"statusCode": 201, "tariff_id": 51001}) == "51001"
    assert wire.created_tariff_id({"data": {"id": "77"}}) == "77"
    assert wire.created_tariff_id(None) is None
    assert wire.rejected({"statusCode": 400, "message": "bad"}) == "statusCode 400: bad"
    assert wire.rejected({"statusCode": 200, "message": "Evse updated successfully"}) is None

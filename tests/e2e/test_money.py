"""Money as money: prices are numbers, amounts go out in the currency's minor unit (CLP: whole pesos).

Through the real CLI: a quoted price is an error naming file, line and field, with how to write it;
SEC is sent prices with VAT rounded to whole pesos (the exact request bodies in the sandbox's
request log), and the plan says how each was rounded.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_sec_apply import by_path
from tests.harness import Estate
from tests.sec_harness import Chile


@pytest.mark.parametrize(("quoted", "advice"), [
    ('"1.750"', 'write 1750 (if "." separates thousands) or 1.75 (if it is the decimal point)'),
    ('"1,75"', "write 1.75, without quotes"),
    ('"980"', "write 980, without quotes"),
    ('"1.750,50"', "write 1750.5, without quotes"),
    ('"mil"', "an amount must be a number, e.g. 1750 or 1.75 (without quotes)"),
])
def test_a_quoted_price_is_an_error_with_file_line_field_and_how_to_write_it(estate: Estate, quoted: str,
                                                                              advice: str) -> None:
    estate.edit("tariffs.yaml", "{type: ENERGY, price: 980, vat: 19, step_size: 1}",
                f"{{type: ENERGY, price: {quoted}, vat: 19, step_size: 1}}")
    line = next(i for i, text in enumerate((estate.config / "tariffs.yaml").read_text().splitlines(), start=1)
                if quoted in text)
    result = estate.run("validate", estate.config)
    assert result.exit_code == 1
    assert f"tariffs.yaml:{line}: tariffs[1].elements[0].price_components[0].price: {quoted} is text, and an " \
           "amount must be a number" in result.output
    assert advice in result.output
    assert "Traceback" not in result.output
    # The tariff in error is reported once: the connectors and sessions using it are not "unknown".
    assert "unknown tariff" not in result.output and "which is not declared" not in result.output
    assert result.output.count("Error: ") == 1
    plan = estate.plan()
    assert plan.exit_code == 1 and estate.writes() == []


def test_a_quoted_min_price_is_an_error_too(estate: Estate) -> None:
    estate.edit("tariffs.yaml", "  - id: ac-destino\n    currency: COP\n",
                '  - id: ac-destino\n    currency: COP\n    min_price: {excl_vat: "2.000"}\n')
    result = estate.run("validate", estate.config)
    assert result.exit_code == 1
    assert "min_price.excl_vat: \"2.000\" is text, and an amount must be a number: write 2000" in result.output


def test_sec_prices_with_vat_are_sent_in_whole_pesos_and_the_plan_says_how(chile_applied: Chile) -> None:
    chile_applied.edit("tariffs.yaml", "{type: ENERGY, price: 200, vat: 19, step_size: 1}",
                       "{type: ENERGY, price: 212.5, vat: 19, step_size: 1}")   # 252.875 with IVA
    plan = chile_applied.plan("--no-color")
    assert plan.exit_code == 0, plan.output
    assert "sent with VAT: ENERGY 212.5 + 19% VAT = 252.875 -> 253 CLP" in plan.output
    assert "all week: ENERGY 238 → 253 CLP/kWh (+6.30%)" in plan.output
    md = chile_applied.root / "comment.md"
    assert chile_applied.plan("--markdown", md, "--lang", "es").exit_code == 0
    assert "ENERGY 212,5 + 19% IVA = 252,875 → 253 CLP" in md.read_text()
    result = chile_applied.apply()
    assert result.exit_code == 0, result.output
    writes = chile_applied.writes()
    assert by_path(writes) and all(m == "PATCH" for m, _, _ in by_path(writes))
    for w in writes:
        assert w["body"]["elements"]["price_components"][0] == {"order_number": 1, "tariff_dimension": "ENERGIA",
                                                                "price": 253}
    assert chile_applied.plan("--detailed-exitcode").exit_code == 0


def test_sec_price_without_vat_must_be_whole_pesos(chile: Chile) -> None:
    chile.edit("platforms.yaml", "    prices_include_vat: true\n", "    prices_include_vat: false\n")
    chile.edit("tariffs.yaml", "{type: ENERGY, price: 300, vat: 19, step_size: 1}",
               "{type: ENERGY, price: 300.4, vat: 19, step_size: 1}")
    result = chile.run("validate", chile.config)
    assert result.exit_code == 1
    assert ("tariffs.yaml:13: tariffs[0].elements[0].price_components[0].price: tariff 'cl-dc-rapida' cannot go to "
            "platform 'sec' (SEC): SEC takes whole pesos (CLP has no decimals) and 300.4 is sent as it is written "
            "(prices_include_vat: false); write 300 or 301") in result.output

"""The SEC (Chile) blocks of the configuration: `sec:` on EVSEs and connectors, and RUT handling.

`models` adds `sec: SecEvse` to an EVSE and `sec: SecConnector` to a connector; the SEC provider
reads them, and checks the accounts' RUTs with `rut_problem` when a configuration is validated.
The sandbox's sign-in uses `normalise_rut` too. Enumeration values keep the platform's official
spelling (`NO DISPONIBLE`, `FUERA DE LINEA`), which is what a user reads in the SEC guide; the
provider's `wire` module maps them to what is sent, so a correction to the wire is made there.
"""

from __future__ import annotations

import enum

from pydantic import Field

from reconciler.config.base import ConfigModel
from reconciler.config.fields import Number


class SecStatus(enum.StrEnum):
    """Status of an EVSE (cargador) or connector on the SEC platform."""

    DISPONIBLE = "DISPONIBLE"            # available
    OCUPADO = "OCUPADO"                  # in use, or a vehicle is connected
    NO_DISPONIBLE = "NO DISPONIBLE"      # not operational: fault, maintenance
    FUERA_DE_LINEA = "FUERA DE LINEA"    # offline


class SecPaymentMethod(enum.StrEnum):
    APP = "APP"
    EFECTIVO = "EFECTIVO"
    DEBITO = "DEBITO"
    CREDITO = "CREDITO"
    PORTAL = "PORTAL"
    SUSCRIPCION = "SUSCRIPCION"


class SecActivationMethod(enum.StrEnum):
    APP = "APP"
    RFID = "RFID"
    QR = "QR"
    PORTAL = "PORTAL"


class SecEvse(ConfigModel):
    """`sec:` on an EVSE. `physical_reference` and `directions` come from the EVSE's OCPI fields."""

    status: SecStatus | None = Field(
        default=None, description="sent with every PATCH /evses (OPC); when not declared, the last status "
                                  "sent is repeated and your own backend owns the status")
    payment_capabilities: list[SecPaymentMethod] | None = Field(
        default=None, description="payment methods (PSE)")
    activation_capabilities: list[SecActivationMethod] | None = Field(
        default=None, description="activation methods (PSE)")


class SecConnector(ConfigModel):
    """`sec:` on a connector."""

    status: SecStatus | None = Field(
        default=None, description="sent with every PATCH /connectors (OPC); when not declared, the last status "
                                  "sent is repeated")
    electric_power: Number | None = Field(
        default=None, gt=0, description="connector power in kW (OPC); default: max_electric_power / 1000")


# -- RUT (Rol Único Tributario): the username of both SEC accounts ---------------------------------


def normalise_rut(text: str) -> str:
    """The RUT as SEC wants it: no dots, no hyphen, no spaces, a check digit K in lower case."""
    return "".join(ch for ch in text if ch not in ". -\t").lower()


def check_digit(body: str) -> str:
    """The modulo-11 check digit of the digits `body` ('0'-'9' or 'k')."""
    total, weight = 0, 2
    for ch in reversed(body):
        total += int(ch) * weight
        weight = 2 if weight == 7 else weight + 1
    digit = 11 - total % 11
    return "0" if digit == 11 else "k" if digit == 10 else str(digit)


def rut_problem(text: str) -> str | None:
    """Why `text` is not a valid RUT, or None. Never repeats the value (it is a credential)."""
    rut = normalise_rut(text)
    body, digit = rut[:-1], rut[-1:]
    if not (1 <= len(body) <= 9) or not body.isdigit() or digit not in "0123456789k" or not digit:
        return ("is not a RUT: expected its digits and check digit, e.g. 76123456-0 or 76.123.403-K "
                "(dots and hyphen are optional)")
    if check_digit(body) != digit:
        return "is not a valid RUT: its check digit does not match (modulo 11); check for a typo"
    return None

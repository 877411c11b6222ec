"""ChileMedido measurements through the CLI: every row uploaded once, in the fewest requests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from reconciler.sandbox import embedded
from tests.medido_harness import FIRST, ROWS, STEP, Medido, expected

DAY = 86400


def _stamps(post: dict) -> list[int]:
    return [m["timestamp"] for m in post["body"][0]["measures"]]


def _fewest(stamps: list[int]) -> int:
    """The fewest requests for one meter, computed here independently of the tool: each request takes
    as many rows as the limits allow (<= 100, span < 1 day), which is optimal for sorted points."""
    n, i = 0, 0
    while i < len(stamps):
        j = i
        while j < len(stamps) and j - i < 100 and stamps[j] - stamps[i] < DAY:
            j += 1
        n, i = n + 1, j
    return n


def test_plan_counts_new_rows_per_meter_with_their_time_range_and_requests(medido: Medido) -> None:
    result = medido.plan("--detailed-exitcode")
    assert result.exit_code == 2, result.output
    out = result.output
    assert "~ measurements \"29\"  [meter 29 · ChileMedido id 29]" in out
    assert "2,020 new rows from 2025-03-24T03:00:00Z to 2025-04-14T03:45:00Z" in out
    assert "(local 2025-03-24 00:00 -0300 to 2025-04-13 23:45 -0400), read from 3 files" in out
    assert "22 requests of at most 100 measurements within one day, the fewest the limits allow: " \
           "21 of 96, 1 of 4 measurements" in out
    assert "=> POST measurements  x22" in out
    assert "Plan: 0 to add, 2 to change, 0 to remove. 44 requests." in out
    assert medido.posts() == []   # a plan sends nothing


def test_plan_json_summarises_the_batches_instead_of_holding_the_rows(medido: Medido) -> None:
    result = medido.plan("--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    change = next(c for c in doc["changes"] if c["address"] == "medido.measurements.29")
    [req] = change["requests"]
    assert req["method"] == "POST" and req["path"] == "measurements" and req["repeat"] == 22
    assert req["idempotent"] is False
    assert req["body"]["measurements"] == ROWS and req["body"]["sizes"] == {"96": 21, "4": 1}
    assert "measures" not in json.dumps(doc)       # no row is in the plan
    assert len(result.output) < 20_000


def test_first_apply_uploads_every_row_once_in_the_fewest_requests(medido: Medido) -> None:
    result = medido.apply()
    assert result.exit_code == 0, result.output
    assert "Apply complete: 0 added, 2 changed, 0 removed; 44 requests sent." in result.output
    for number in ("29", "30"):
        posts = medido.posts(number)
        sent = [ts for p in posts for ts in _stamps(p)]
        assert sent == expected()                          # every row, in order, once
        assert len(posts) == _fewest(expected()) == 22
        for p in posts:
            stamps = _stamps(p)
            assert len(stamps) <= 100 and stamps[-1] - stamps[0] < DAY
            assert p["status"] == 201 and p["response"] == {"success": True, "warnings": []}
        assert medido.stored(int(number)) == expected()
        assert medido.watermark(number)["last_timestamp"] == expected()[-1]
        assert medido.watermark(number)["rows"] == ROWS
    body = medido.posts("30")[0]["body"][0]["measures"][0]
    assert body == {"timestamp": FIRST, "sensorValues": [
        {"sensorName": "Energía activa acumulada", "sensorValue": 8822.862},   # "8822,862" in the file
        {"sensorName": "Potencia activa total instantánea", "sensorValue": 10.45},
        {"sensorName": "Corriente A", "sensorValue": 16.7},
        {"sensorName": "Voltaje A-N", "sensorValue": 219.5}]}


def test_second_apply_uploads_nothing_and_plan_converges(medido_applied: Medido) -> None:
    plan = medido_applied.plan("--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.output
    result = medido_applied.apply()
    assert result.exit_code == 0, result.output
    assert "Nothing to apply." in result.output
    assert medido_applied.posts() == []


def test_appended_rows_are_the_only_ones_uploaded(medido_applied: Medido) -> None:
    medido_applied.append_rows("29", ["2025-04-14 00:00,37001.5,30.1", "2025-04-14 00:15,37009.0,30.0"])
    plan = medido_applied.plan()
    assert "2 new rows from 2025-04-14T04:00:00Z to 2025-04-14T04:15:00Z" in plan.output
    assert "measurements \"30\"" not in plan.output
    result = medido_applied.apply()
    assert result.exit_code == 0, result.output
    [post] = medido_applied.posts()
    assert _stamps(post) == [expected()[-1] + STEP, expected()[-1] + 2 * STEP]
    assert medido_applied.stored(29) == expected(ROWS + 2)
    assert medido_applied.watermark("29")["rows"] == ROWS + 2


def test_a_rejected_batch_stops_that_meter_only_and_loses_nothing(medido: Medido) -> None:
    # Meter 29's gateway wrote a row with its clock a year ahead: the platform refuses that request.
    medido.append_rows("29", ["2025-04-14 00:00,37001.5,30.1", "2027-11-21 00:00,37009.0,30.0"])
    result = medido.apply()
    assert result.exit_code == 1
    assert "meter '29': ChileMedido rejected the request with 1 measurement from 2027-11-21T03:00:00Z to " \
           "2027-11-21T03:00:00Z (rows from data/meter-29/2025-W15.csv:675): HTTP 400:" in result.output
    assert "ahead of the server clock" in result.output
    assert "2,021 measurements before it were accepted and recorded (through 2025-04-14T04:00:00Z)." in result.output
    assert "Nothing is lost: once the cause is fixed, the next apply starts with this request." in result.output
    assert medido.watermark("29") == {**medido.watermark("29"), "last_timestamp": expected()[-1] + STEP,
                                      "rows": ROWS + 1}
    assert medido.stored(30) == expected()            # the other meter went on
    # The user removes the bad row: only what is left is sent, nothing twice.
    path = medido.config / "data" / "meter-29" / "2025-W15.csv"
    path.write_text(path.read_text().replace("2027-11-21 00:00,37009.0,30.0\n", ""))
    medido.clear_requests()
    again = medido.apply()
    assert again.exit_code == 0, again.output
    assert "No changes." in again.output and medido.posts() == []
    assert medido.stored(29) == expected(ROWS + 1)
    assert medido.plan("--detailed-exitcode").exit_code == 0


def test_a_meter_whose_sensor_was_disabled_after_the_plan_is_rejected_and_resumes(medido: Medido,
                                                                                    tmp_path: Path) -> None:
    saved = tmp_path / "upload.plan"
    assert medido.plan("--out", saved).exit_code == 0
    device = medido.admin("GET", "/devices/29")
    medido.admin("PUT", "/devices/29", {**device, "sensors": ["Energía activa acumulada"]})
    result = medido.run("apply", saved)
    assert result.exit_code == 1
    assert "sensor 'Potencia activa total instantánea' is not enabled on device number '29'" in result.output
    assert "Nothing of this meter was uploaded in this run." in result.output
    assert medido.stored(29) == [] and medido.stored(30) == expected()
    plan = medido.plan()
    assert "sensor 'Potencia activa total instantánea' not enabled on meter '29' (ChileMedido id 29)" in plan.output
    assert "measurements \"29\"" not in plan.output  # held back until the administrator enables it
    medido.admin("PUT", "/devices/29", device)
    assert medido.apply().exit_code == 0
    assert medido.stored(29) == expected()


def test_platform_warnings_are_shown_after_apply(medido: Medido) -> None:
    # Something else already sent meter 30's first row: the platform stores it again and warns.
    async def send_one() -> None:
        app = embedded.medido_app_for(medido.sandbox)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s/api/v1") as c:
            tokens = (await c.post("/auth/token/refresh", json={"refreshToken": medido.refresh_token})).json()
            body = [{"deviceNumber": "30", "measures": [{"timestamp": FIRST, "sensorValues": [
                {"sensorName": "Corriente A", "sensorValue": 1}]}]}]
            r = await c.post("/measurements", json=body, headers={"Authorization": f"Bearer {tokens['accessToken']}"})
            assert r.status_code == 201, r.text

    embedded.close_all()
    asyncio.run(send_one())
    embedded.close_all()
    result = medido.apply()
    assert result.exit_code == 0, result.output
    assert "Note: ChileMedido warns about meter '30' (96 measurements from 2025-03-24T03:00:00Z to " \
           "2025-03-25T02:45:00Z (rows from data/meter-30/2025-W13.csv:2)): Device number '30': a measurement at " \
           "2025-03-24T03:00:00.000Z was already stored; it is stored again" in result.output
    # The read-back through the output API sees one measurement more than this apply sent.
    assert "Note: medido.measurements.30: the output API holds 2021 measurements from 2025-03-24T03:00:00Z to " \
           "2025-04-14T03:45:00Z; 2,020 were uploaded" in result.output

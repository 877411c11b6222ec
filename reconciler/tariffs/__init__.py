"""OCPI 2.2.1 tariff pricing: what a charging session costs under a tariff.

`model` reads an OCPI Tariff object (a JSON dict) and evaluates restrictions; `calculator` prices
a session given as charging periods (as a CDR carries them); `sessions` builds those periods from
a CDR or from a reviewer's reference session ("30 kWh DC in 40 min"); `review` computes the
before/after cost of the configured reference sessions for the plan. Pure: no I/O, Decimal only.
"""

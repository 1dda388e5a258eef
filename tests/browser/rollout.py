"""The rollout set-up of tests/process/helpers.py for the browser tests, plus a second
institution's oficio: the browser tests start from a running server rather than from the
`app` fixture, so they call these plain functions."""

from tests.process.helpers import Rollout, oficio_accepted, rollout_to_step_5

__all__ = ["Rollout", "SECOM_OFICIO", "oficio_accepted", "rollout_to_step_5"]

# a second institution's oficio (valid RUC and cédula check digits), for a rollout at step 2
SECOM_OFICIO = {
    "nombre": "Secretaría de Comunicación Pública",
    "ruc": "1768000110001",
    "sigla": "secom",
    "aiq_nombres": "Jorge Vera Salinas",
    "aiq_cedula": "1710000140",
    "aiq_correo": "jorge.vera@secom.gob.ec",
    "oficio_numero": "SECOM-DM-2025-0098-O",
}

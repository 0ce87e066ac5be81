from django.conf import settings


def test_settings_use_plant_time_and_spanish():
    assert settings.TIME_ZONE == "America/Santiago"
    assert settings.LANGUAGE_CODE == "es-cl"

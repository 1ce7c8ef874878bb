"""The site's Korean web font has a glyph for every Hangul character the book
shows, and stays light (publish/korean_font.py makes it)."""

from publish import korean_font


def test_the_web_font_covers_every_hangul_character_of_the_book():
    used = korean_font.hangul_in_book()
    assert used, "no Hangul found in the book's pages"
    for name in korean_font.FACES:
        missing = used - korean_font.glyphs_in(korean_font.FONTS / name)
        assert not missing, (
            f"{name} lacks {''.join(sorted(missing))}: run `make font` "
            "(with Debian's fonts-nanum installed) after adding Korean text."
        )


def test_the_web_font_is_light_renamed_and_licensed():
    from fontTools.ttLib import TTFont

    total = sum((korean_font.FONTS / name).stat().st_size for name in korean_font.FACES)
    assert total <= 1024 * 1024, f"{total / 1024:.0f} KiB of Korean font"
    for name in korean_font.FACES:
        with TTFont(korean_font.FONTS / name) as font:
            assert font["name"].getDebugName(1) == korean_font.FAMILY
            assert "Nanum" not in font["name"].getDebugName(4)  # a Reserved Font Name
    assert "SIL OPEN FONT LICENSE" in (korean_font.FONTS / "OFL.txt").read_text()


def test_hangul_is_told_apart_from_other_text():
    assert korean_font.is_hangul("한") and korean_font.is_hangul("ㄱ")
    assert not korean_font.is_hangul("a") and not korean_font.is_hangul("漢")

"""Fills a Photox database with a generated library for the search benchmark.

Usage: search_library.py DB N

Photos belong to `bench` (80 %) and `kin` (20 %, a family member sharing a third of theirs).
Titles mix English and Chinese words, 2-4 tags each from 120 names, 15 cameras, 8 lenses,
dates over 16 years, 40 % with GPS, 300 albums holding about a fifth of the photos. Seeded:
every run builds the same library.
"""

import random
import sqlite3
import sys
import uuid

WORDS = (
    "sunset beach mountain river forest city street night morning garden lake snow winter "
    "summer autumn spring birthday wedding party dinner breakfast picnic concert museum bridge "
    "tower castle harbor island desert canyon valley meadow field farm village market station "
    "airport train bus bicycle car boat ship plane road path trail park playground school "
    "office kitchen living room bedroom balcony window door roof wall fence gate stairs "
    "portrait family friends children baby grandma grandpa mother father sister brother cousin "
    "dog cat horse bird duck fish flower tree leaf grass rock stone sand wave cloud rain storm "
    "rainbow moon star sky fire candle cake gift balloon costume parade festival holiday trip "
    "vacation hike swim ski camp tent cabin hotel restaurant cafe bakery library church temple"
).split()
CHINESE = (
    "长城 日落 故宫 西湖 家人 朋友 生日 婚礼 春节 中秋 海边 山顶 公园 花园 小猫 小狗 "
    "孩子 奶奶 爷爷 旅行 假期 雪景 夜景 早餐 晚餐 蛋糕 烟花 灯笼 上海 北京 杭州 成都 "
    "樱花 荷花 桂林 山水 黄山 日出 彩虹 星空"
).split()
TAGS = (
    "beach sea ocean sky cloud sunset sunrise mountain snow tree flower grass forest lake river "
    "city building street car bicycle boat plane train bridge tower night light food cake pizza "
    "coffee cup plate table chair sofa bed window door dog cat bird horse animal person child "
    "baby group portrait selfie smile party wedding birthday christmas holiday travel hiking "
    "camping sport ball soccer tennis swimming pool garden park playground toy book computer "
    "phone camera screen keyboard music guitar piano concert stage museum painting statue church "
    "temple castle ruin desert sand rock cave waterfall rainbow moon star fireworks lantern "
    "festival market shop restaurant kitchen bottle wine beer glass fruit vegetable bread cheese "
    "ice_cream candy"
).split()
CAMERAS = [
    ("Canon", "Canon EOS R5"), ("Canon", "Canon EOS 5D Mark IV"), ("Canon", "Canon EOS 80D"),
    ("NIKON CORPORATION", "NIKON Z 6"), ("NIKON CORPORATION", "NIKON D750"),
    ("SONY", "ILCE-7M3"), ("SONY", "ILCE-6400"), ("FUJIFILM", "X-T4"), ("FUJIFILM", "X100V"),
    ("Apple", "iPhone 13 Pro"), ("Apple", "iPhone 15"), ("samsung", "SM-G991B"),
    ("Google", "Pixel 7"), ("OLYMPUS", "E-M10MarkIII"), ("Panasonic", "DC-GX9"),
]
LENSES = ["RF24-105mm F4 L IS USM", "EF50mm f/1.8 STM", "NIKKOR Z 24-70mm f/4 S",
          "FE 28-70mm F3.5-5.6 OSS", "XF23mmF2 R WR", "iPhone 13 Pro back camera",
          "E 18-135mm F3.5-5.6 OSS", "M.Zuiko 14-42mm"]


def short_grams(text):
    """The daemon's `short_grams` (src/db/grams.rs): every non-ASCII character and pair, as
    `|x| `. The daemon fills them in for photos in `search_stale` before it searches; the
    generator does it here so the first measured query does not pay for 100,000 rows."""
    if text is None:
        return ""
    chars = list(text.lower())
    seen, out = set(), []

    def gram_char(c):
        return ord(c) > 127 and not c.isspace()

    for i, c in enumerate(chars):
        if not gram_char(c):
            continue
        for g in [c] + ([c + chars[i + 1]] if i + 1 < len(chars) and gram_char(chars[i + 1]) else []):
            if g not in seen:
                seen.add(g)
                out.append(f"|{g}| ")
    return "".join(out)


def fill_grams(db):
    """What the daemon does before a search: grams for every photo in search_stale."""
    stale = db.execute("SELECT rowid, body FROM photo_search "
                       "WHERE rowid IN (SELECT photo_id FROM search_stale)").fetchall()
    db.executemany("UPDATE photo_search SET grams = ? WHERE rowid = ?",
                   [(short_grams(body), rowid) for rowid, body in stale])
    db.execute("DELETE FROM search_stale")


def main():
    db_path, n = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(42)
    db = sqlite3.connect(db_path, isolation_level=None)
    users = dict(db.execute("SELECT username, id FROM users"))
    bench, kin = users["bench"], users["kin"]
    db.execute("INSERT INTO families (name, invite_code, owner_id, created_at) "
               "VALUES ('Bench', 'BENCH234', ?, 1700000000)", (bench,))
    fam = db.execute("SELECT id FROM families").fetchone()[0]
    db.execute("UPDATE users SET family_id = ?, family_joined_at = 1700000000", (fam,))
    now = 1_790_000_000
    db.execute("BEGIN")
    albums = []
    for i in range(300):
        owner = bench if i % 5 else kin
        title = " ".join(rnd.sample(WORDS, 2)) + (" " + rnd.choice(CHINESE) if i % 3 == 0 else "")
        cur = db.execute(
            "INSERT INTO albums (owner_id, title, visibility, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (owner, title, "family" if i % 4 == 0 else "private", now - i, now - i))
        albums.append((cur.lastrowid, owner))
    for i in range(n):
        owner = bench if i % 5 else kin
        words = rnd.sample(WORDS, rnd.randint(2, 4))
        if rnd.random() < 0.25:
            words.insert(rnd.randint(0, len(words)), rnd.choice(CHINESE) + rnd.choice(CHINESE))
        title = " ".join(words).capitalize()
        description = " ".join(rnd.sample(WORDS + CHINESE, rnd.randint(5, 8))) \
            if rnd.random() < 0.3 else None
        make, model = rnd.choice(CAMERAS) if rnd.random() < 0.9 else (None, None)
        lens = rnd.choice(LENSES) if make and rnd.random() < 0.6 else None
        taken = now - rnd.randint(0, 16 * 365 * 86400) if rnd.random() < 0.95 else None
        lat, lon = ((rnd.uniform(-60, 70), rnd.uniform(-180, 180))
                    if rnd.random() < 0.4 else (None, None))
        visibility = "family" if owner == kin and i % 3 == 0 else "private"
        cur = db.execute(
            """INSERT INTO photos (owner_id, uuid, ext, title, description, original_filename,
                mime_type, size, width, height, checksum, taken_at, created_at, updated_at,
                visibility, status, camera_make, camera_model, lens, iso, aperture,
                exposure_time, focal_length, orientation, latitude, longitude)
               VALUES (?, ?, 'jpg', ?, ?, ?, 'image/jpeg', ?, 4000, 3000, ?, ?, ?, ?, ?, 'ready',
                ?, ?, ?, 200, 2.8, '1/250', 50.0, 1, ?, ?)""",
            (owner, uuid.UUID(int=rnd.getrandbits(128)).hex, title, description,
             f"IMG_{i:06}.jpg", 2_000_000 + rnd.randint(0, 6_000_000), f"{i:064x}", taken,
             now - i * 60, now - i * 60, visibility, make, model, lens, lat, lon))
        pid = cur.lastrowid
        for tag in rnd.sample(TAGS, rnd.randint(2, 4)):
            db.execute("INSERT INTO photo_tags (photo_id, name, source, confidence) "
                       "VALUES (?, ?, 'ai', ?)", (pid, tag.replace("_", " "),
                                                  round(rnd.uniform(0.3, 1.0), 3)))
        if rnd.random() < 0.2:
            album, album_owner = rnd.choice(albums)
            if album_owner == owner:
                db.execute("INSERT INTO album_photos (album_id, photo_id, added_at) "
                           "VALUES (?, ?, ?)", (album, pid, now))
    fill_grams(db)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


if __name__ == "__main__":
    main()

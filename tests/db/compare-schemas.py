#!/usr/bin/env python3
"""Both migration sets apply from empty, and the two schemas match table for table.

    tests/db/compare-schemas.py [POSTGRES_URL]     (default: $LOBBY_TEST_POSTGRES_URL)

Applies migrations/sqlite/*.sql in order to a new SQLite file (Python's sqlite3 module, one
transaction per file, foreign keys on, as sqlx does) and migrations/postgres/*.sql in order to a new
database on the PostgreSQL server at the URL (psql, one transaction per file; the URL's role must
be allowed to create databases), then compares, per table: the columns in order with their type
class, NOT NULL, default and auto-numbering; the primary key; UNIQUE constraints; foreign keys;
indexes (name, unique, partial, columns); triggers. Prints the differences and exits 1 when there
are any, 0 when the schemas match; 2 when a migration fails or the tools are missing.

Types compare by class: SQLite INTEGER is PostgreSQL BIGINT or BOOLEAN (a flag, Rust bool), TEXT
is TEXT, BLOB is BYTEA; anything else (an INTEGER column as PostgreSQL integer, say) differs.
"""

import difflib
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SQLITE_DIR = os.path.join(ROOT, "migrations", "sqlite")
POSTGRES_DIR = os.path.join(ROOT, "migrations", "postgres")
IGNORED_TABLES = {"_sqlx_migrations"}


def fail(message, code=2):
    print(message, file=sys.stderr)
    sys.exit(code)


def migration_files(directory):
    return sorted(glob.glob(os.path.join(directory, "*.sql")))


def psql_binary():
    found = shutil.which("psql")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if candidates:
        return candidates[-1]
    fail("psql not found (apt-get install postgresql-client)")


def with_database(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def psql(url, *args, sql=None):
    command = [psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, *args]
    if sql is not None:
        command += ["-At", "-F", "\t", "-c", sql]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or f"psql exited with {result.returncode}")
    return result.stdout


def rows(url, sql):
    return [line.split("\t") for line in psql(url, sql=sql).splitlines() if line]


# --- SQLite ---------------------------------------------------------------------------------

def sqlite_type(declared):
    return {"INTEGER": "INTEGER", "TEXT": "TEXT", "BLOB": "BLOB"}.get(declared.upper(), f"sqlite:{declared}")


def sqlite_schema(path):
    db = sqlite3.connect(path)
    lines = []
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "ORDER BY name")]
    for table in tables:
        if table in IGNORED_TABLES:
            continue
        lines.append(f"table {table}")
        info = db.execute(f'PRAGMA table_info("{table}")').fetchall()
        pk = [r[1] for r in sorted((r for r in info if r[5] > 0), key=lambda r: r[5])]
        # A lone INTEGER PRIMARY KEY is the rowid: numbered automatically.
        rowid = len(pk) == 1 and any(r[1] == pk[0] and r[2].upper() == "INTEGER" for r in info)
        for _cid, name, declared, notnull, default, in_pk in info:
            auto = rowid and in_pk > 0
            lines.append(column_line(table, name, sqlite_type(declared), bool(notnull) or in_pk > 0,
                                     None if auto else default, auto))
        lines.append(f"  {table} primary key ({', '.join(pk)})")
        for row in sorted(db.execute(f'PRAGMA foreign_key_list("{table}")').fetchall(), key=lambda r: r[3]):
            _id, _seq, target, source, to, _on_update, on_delete, _match = row
            lines.append(f"  {table} foreign key {source} -> {target} ({to}) on delete {on_delete.lower()}")
        indexes = db.execute(f'PRAGMA index_list("{table}")').fetchall()
        for _seq, name, unique, origin, partial in sorted(indexes, key=lambda r: r[1]):
            columns = [r[2] if r[1] >= 0 else "<expression>"
                       for r in db.execute(f'PRAGMA index_xinfo("{name}")').fetchall() if r[5]]
            if origin == "u":
                lines.append(f"  {table} unique ({', '.join(columns)})")
            elif origin == "c":
                lines.append(index_line(table, name, unique, partial, columns))
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
                                  "ORDER BY name", (table,)):
            lines.append(f"  {table} trigger {name}")
    db.close()
    return lines


def apply_sqlite(path, files):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    for file in files:
        with open(file, encoding="utf-8") as f:
            sql = f.read()
        try:
            db.executescript("BEGIN;\n" + sql + "\nCOMMIT;")
        except sqlite3.Error as e:
            fail(f"SQLite: {os.path.relpath(file, ROOT)} does not apply: {e}")
    db.close()


# --- PostgreSQL -----------------------------------------------------------------------------

PG_TYPES = {"bigint": "INTEGER", "boolean": "INTEGER", "text": "TEXT", "bytea": "BLOB"}


FLAGS = []  # BOOLEAN columns seen, for the summary


def pg_default(default):
    if default is None:
        return None
    value = re.sub(r"::[a-z ]+$", "", default)
    return {"false": "0", "true": "1"}.get(value, value)


def postgres_schema(url):
    lines = []
    tables = [r[0] for r in rows(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
    for table in tables:
        if table in IGNORED_TABLES:
            continue
        lines.append(f"table {table}")
        columns = rows(url, f"""
            SELECT column_name, data_type, is_nullable, COALESCE(column_default, '<null>'), is_identity
            FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}'
            ORDER BY ordinal_position""")
        for name, data_type, nullable, default, identity in columns:
            default = None if default == "<null>" else default
            auto = identity == "YES" or (default or "").startswith("nextval(")
            if data_type == "boolean":
                FLAGS.append(f"{table}.{name}")
            lines.append(column_line(table, name, PG_TYPES.get(data_type, f"pg:{data_type}"), nullable == "NO",
                                     None if auto else pg_default(default), auto))
        constraints = rows(url, f"""
            SELECT c.contype, c.conname,
                   (SELECT string_agg(a.attname, ', ' ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(att, n)
                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att),
                   COALESCE(c.confrelid::regclass::text, ''),
                   COALESCE((SELECT string_agg(a.attname, ', ' ORDER BY k.n)
                             FROM unnest(c.confkey) WITH ORDINALITY k(att, n)
                             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.att), ''),
                   c.confdeltype
            FROM pg_constraint c WHERE c.conrelid = 'public.{table}'::regclass ORDER BY c.conname""")
        on_delete = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
        pk = next((c[2] for c in constraints if c[0] == "p"), "")
        lines.append(f"  {table} primary key ({pk})")
        for kind, _name, cols, target, to, deltype in sorted(constraints, key=lambda c: c[2]):
            if kind == "f":
                lines.append(f"  {table} foreign key {cols} -> {target} ({to}) on delete {on_delete[deltype]}")
        for kind, _name, cols, *_ in constraints:
            if kind == "u":
                lines.append(f"  {table} unique ({cols})")
        indexes = rows(url, f"""
            SELECT i.relname, x.indisunique, x.indpred IS NOT NULL,
                   (SELECT string_agg(COALESCE(a.attname, '<expression>'), ', ' ORDER BY k.n)
                    FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(att, n)
                    LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.att)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = 'public.{table}'::regclass
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
            ORDER BY i.relname""")
        for name, unique, partial, cols in indexes:
            lines.append(index_line(table, name, unique == "t", partial == "t", cols.split(", ")))
        for (name,) in rows(url, f"""SELECT tgname FROM pg_trigger
                                    WHERE tgrelid = 'public.{table}'::regclass AND NOT tgisinternal ORDER BY 1"""):
            lines.append(f"  {table} trigger {name}")
    return lines


def apply_postgres(url, files):
    for file in files:
        try:
            psql(url, "--single-transaction", "-f", file)
        except RuntimeError as e:
            fail(f"PostgreSQL: {os.path.relpath(file, ROOT)} does not apply: {e}")


# --- both -----------------------------------------------------------------------------------

def normalized(lines):
    """Columns keep their order; the rest of each table's lines are sorted."""
    out, rest = [], []
    for line in lines + ["table "]:
        if line.startswith("table "):
            out += sorted(rest)
            rest = []
            if line != "table ":
                out.append(line)
        elif re.match(r"  [^ .]+\.[^ ]+ ", line):
            out.append(line)
        else:
            rest.append(line)
    return out


def column_line(table, name, kind, notnull, default, auto):
    line = f"  {table}.{name} {kind}{' not null' if notnull else ''}"
    if auto:
        line += " auto-numbered"
    if default is not None:
        line += f" default {default}"
    return line


def index_line(table, name, unique, partial, columns):
    return (f"  {table} {'unique ' if unique else ''}index {name} ({', '.join(columns)})"
            f"{' partial' if partial else ''}")


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LOBBY_TEST_POSTGRES_URL")
    if not url:
        fail(f"usage: {sys.argv[0]} POSTGRES_URL (or set LOBBY_TEST_POSTGRES_URL)")

    sqlite_files, postgres_files = migration_files(SQLITE_DIR), migration_files(POSTGRES_DIR)
    names = lambda files: [os.path.basename(f) for f in files]
    if not sqlite_files:
        fail(f"no migrations in {SQLITE_DIR}")
    if names(sqlite_files) != names(postgres_files):
        print("The migration files differ (each SQLite migration needs a PostgreSQL one of the same name):")
        for line in difflib.unified_diff(names(sqlite_files), names(postgres_files),
                                         "migrations/sqlite", "migrations/postgres", lineterm=""):
            print(line)
        sys.exit(1)

    database = f"lobby_schema_check_{os.getpid()}"
    target = with_database(url, database)
    with tempfile.TemporaryDirectory(prefix="lobby-schema-") as tmp:
        sqlite_path = os.path.join(tmp, "lobby.db")
        apply_sqlite(sqlite_path, sqlite_files)
        sqlite_lines = normalized(sqlite_schema(sqlite_path))
        try:
            psql(url, sql=f'CREATE DATABASE "{database}"')
        except RuntimeError as e:
            fail(f"PostgreSQL: cannot create a database at {url}: {e}")
        try:
            apply_postgres(target, postgres_files)
            postgres_lines = normalized(postgres_schema(target))
            version = psql(target, sql="SHOW server_version").strip()
        finally:
            psql(url, sql=f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    if os.environ.get("LOBBY_SCHEMA_PRINT"):
        print("\n".join(sqlite_lines))
    diff = list(difflib.unified_diff(sqlite_lines, postgres_lines, "SQLite", "PostgreSQL", lineterm=""))
    if diff:
        print("The schemas differ (- SQLite, + PostgreSQL):")
        for line in diff:
            print(line)
        sys.exit(1)
    tables = sum(1 for line in sqlite_lines if line.startswith("table "))
    columns = sum(1 for line in sqlite_lines if re.match(r"  \S+\.\S+ ", line))
    print(f"{len(sqlite_files)} migrations apply on SQLite {sqlite3.sqlite_version} and PostgreSQL {version}; "
          f"the schemas match: {tables} tables, {columns} columns")
    print(f"PostgreSQL BOOLEAN columns (Rust bool; INTEGER 0/1 on SQLite): {', '.join(FLAGS)}")


if __name__ == "__main__":
    main()

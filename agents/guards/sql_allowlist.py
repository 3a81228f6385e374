"""The functions a generated query may call, per dialect: everything else is refused.

A blocklist misses what it does not name (``sleep_ms``, a new engine function), so the
guard accepts only the functions listed here. Entries are sqlglot expression classes
(sqlglot parses each dialect's spelling into one class: BigQuery ``COUNTIF`` and
PostgreSQL ``count(*) FILTER`` alike, ``FORMAT_DATE`` is ``TimeToStr``), plus, per dialect,
the few functions sqlglot does not know (``ANONYMOUS_FUNCTIONS``, upper case, as written).
Functions that can manufacture unbounded work from a short query (``REPEAT``, ``LPAD``,
``GENERATE_ARRAY``, ``GENERATE_DATE_ARRAY``) are listed in ``BOUNDED_FUNCTIONS`` and the
guard checks their arguments (``agents/guards/sql.py``). ``FORMAT`` (a width specifier can
build a string of any size), ``SPACE``, ``GENERATE_TIMESTAMP_ARRAY``, PostgreSQL's
``generate_series`` and every session, file, network or ML function are absent on purpose.
"""

from __future__ import annotations

AGGREGATES = frozenset(
    ["Count", "CountIf", "Sum", "Avg", "Min", "Max", "AnyValue", "LogicalAnd", "LogicalOr", "Stddev", "StddevPop",
     "StddevSamp", "Variance", "VariancePop", "Corr", "CovarPop", "CovarSamp", "ApproxDistinct", "ApproxQuantiles",
     "ApproxTopK", "ArrayAgg", "GroupConcat", "PercentileCont", "PercentileDisc"]
)
WINDOW = frozenset(
    ["RowNumber", "Rank", "DenseRank", "PercentRank", "CumeDist", "Ntile", "Lag", "Lead", "FirstValue", "LastValue",
     "NthValue"]
)
MATH = frozenset(
    ["Abs", "Round", "Ceil", "Floor", "Trunc", "Sign", "Sqrt", "Cbrt", "Pow", "Exp", "Ln", "Log", "Greatest", "Least",
     "Rand", "SafeDivide", "SafeAdd", "SafeSubtract", "SafeMultiply", "SafeNegate", "IsInf", "IsNan"]
)
CONDITIONAL = frozenset(["Case", "If", "Coalesce", "Nullif", "Exists", "Cast", "TryCast"])
STRINGS = frozenset(
    ["Concat", "ConcatWs", "Lower", "Upper", "Length", "ByteLength", "Substring", "Trim", "Replace", "StartsWith",
     "EndsWith", "StrPosition", "Contains", "Split", "SplitPart", "Initcap", "Left", "Right", "Reverse", "RegexpLike",
     "RegexpExtract", "RegexpReplace", "Translate", "Ascii", "Chr", "Normalize", "Collate", "LowerHex",
     "MD5Digest", "MD5", "FarmFingerprint", "Repeat", "Pad"]
)
DATES = frozenset(
    ["CurrentDate", "CurrentTimestamp", "CurrentDatetime", "Localtimestamp", "Date", "Timestamp", "DateFromParts",
     "DateTrunc", "DatetimeTrunc", "TimestampTrunc", "TimeTrunc", "WeekStart", "DateAdd", "DateSub", "DatetimeAdd",
     "DatetimeSub", "TimestampAdd", "TimestampSub", "DateDiff", "DatetimeDiff", "TimestampDiff", "Extract",
     "TimeToStr", "StrToDate", "StrToTime", "ParseDatetime", "LastDay", "UnixDate", "UnixSeconds", "UnixMillis",
     "UnixMicros", "DateFromUnixDate", "UnixToTime", "TsOrDsToDate", "TsOrDsToDatetime", "TsOrDsToTimestamp",
     "TsOrDsToTime", "DateBin", "JustifyDays", "MakeInterval"]
)
STRUCTURES = frozenset(
    ["Array", "ArraySize", "ArrayToString", "ArrayConcat", "ArrayReverse", "ArrayContainsAll", "Struct", "Unnest",
     "JSONExtract", "JSONExtractScalar", "JSONFormat"]
)
COMMON = AGGREGATES | WINDOW | MATH | CONDITIONAL | STRINGS | DATES | STRUCTURES

FUNCTION_CLASSES: dict[str, frozenset[str]] = {
    # SAFE.f(...) and NET.f(...) wrap the inner function, which is checked on its own.
    "bigquery": COMMON | {"SafeFunc", "NetFunc", "Host", "RegDomain", "GenerateSeries", "GenerateDateArray"},
    # The JSON and array operators (->, ->>, @>, &&, ~*) parse into these classes too.
    "postgres": COMMON | {"Explode", "Mode", "WidthBucket", "RegrSlope", "ToNumber", "JSONBExtract",
                          "JSONBExtractScalar", "JSONBContains", "ArrayContains", "ArrayOverlaps", "RegexpILike"},
}
ANONYMOUS_FUNCTIONS: dict[str, frozenset[str]] = {
    "bigquery": frozenset({"IEEE_DIVIDE", "DIVIDE", "PUBLIC_SUFFIX"}),
    "postgres": frozenset({"AGE", "BTRIM", "CARDINALITY", "EVERY", "ISFINITE", "MAKE_DATE", "NUM_NULLS",
                           "NUM_NONNULLS", "REGEXP_MATCH"}),
}
# Classes whose arguments the guard bounds (see ``sql.py``: _check_bounded_arguments).
BOUNDED_FUNCTIONS = frozenset({"Repeat", "Pad", "GenerateSeries", "GenerateDateArray"})

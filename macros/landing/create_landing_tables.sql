{#- The tables the Python side of lawn writes and dbt reads (as sources): churn scores, their
    per-feature contributions and model monitoring (schema ml), action reversals, action exports and nightly runs (schema
    ops), the privacy ledgers (retention audit, erasure tombstones and requests, rows the
    loader withheld: lawn/retention.py, lawn/privacy.py), and the identity hash key's padded forms (ops.identity_hash_key, written by
    lawn/identity_key.py before dbt runs; never rendered into SQL). Created empty when missing, so the first build (before any model has scored) reads
    empty sources instead of failing; existing rows are never touched. Run on every dbt
    invocation from `on-run-start`. -#}
{% macro create_landing_tables() -%}
    {%- set text = dbt.type_string() -%}
    {%- set stamp = dbt.type_timestamp() -%}
    {%- set flag = dbt.type_boolean() -%}
    {%- set number = type_double() -%}
    {%- set whole = dbt.type_bigint() -%}
    create schema if not exists ml;
    create schema if not exists ops;
    create table if not exists ml.churn_scores (
        account_id {{ text }},
        feature_date date,
        model_version {{ text }},
        is_shadow {{ flag }},
        churn_probability {{ number }},
        scored_at {{ stamp }}
    );
    create table if not exists ml.churn_score_contributions (
        account_id {{ text }},
        feature_date date,
        model_version {{ text }},
        feature {{ text }},
        feature_value {{ number }},
        standardised_value {{ number }},
        coefficient {{ number }},
        contribution {{ number }},
        contribution_rank {{ number }}
    );
    create table if not exists ml.model_monitoring (
        as_of_date date,
        model_version {{ text }},
        is_shadow {{ flag }},
        check_name {{ text }},
        subject {{ text }},
        slice_dimension {{ text }},
        slice_value {{ text }},
        metric_value {{ number }},
        threshold {{ number }},
        row_count {{ whole }},
        is_flagged {{ flag }},
        run_at {{ stamp }}
    );
    create table if not exists ops.action_reversals (
        action_id {{ text }},
        reverted_at {{ stamp }},
        reverted_by {{ text }},
        reason {{ text }}
    );
    create table if not exists ops.action_exports (
        run_id {{ text }},
        action_id {{ text }},
        record_type {{ text }},
        exported_at {{ stamp }},
        export_path {{ text }},
        rule_id {{ text }},
        action_type {{ text }},
        destination {{ text }},
        playbook {{ text }},
        account_key {{ text }},
        assignee {{ text }},
        decided_on date,
        trigger_inputs {{ text }},
        churn_probability {{ number }},
        model_version {{ text }},
        reason {{ text }}
    );
    create table if not exists ops.nightly_runs (
        run_id {{ text }},
        as_of_date date,
        started_at {{ stamp }},
        finished_at {{ stamp }},
        status {{ text }},
        failed_step {{ text }},
        slo_breaches {{ whole }}
    );
    create table if not exists ops.retention_audit (
        run_id {{ text }},
        relation_name {{ text }},
        retention_class {{ text }},
        policy_action {{ text }},
        keep_days {{ whole }},
        time_column {{ text }},
        cutoff_at {{ stamp }},
        rows_affected {{ whole }},
        is_dry_run {{ flag }},
        applied_at {{ stamp }}
    );
    create table if not exists ops.erasure_tombstones (
        request_id {{ text }},
        identifier_type {{ text }},
        identifier_hash {{ text }},
        key_id {{ text }},
        erased_at {{ stamp }}
    );
    create table if not exists ops.erasure_requests (
        request_id {{ text }},
        requested_by_type {{ text }},
        person_hash {{ text }},
        identifiers_erased {{ whole }},
        rows_erased {{ whole }},
        files_rewritten {{ whole }},
        requested_at {{ stamp }},
        completed_at {{ stamp }},
        seconds_taken {{ number }}
    );
    create table if not exists ops.landing_exclusions (
        load_id {{ text }},
        relation_name {{ text }},
        reason {{ text }},
        rows_excluded {{ whole }},
        rows_redacted {{ whole }},
        cutoff_at {{ stamp }},
        loaded_at {{ stamp }}
    );
    create table if not exists ops.identity_hash_key (
        key_id {{ text }},
        inner_pad_hex {{ text }},
        outer_pad_hex {{ text }},
        key_origin {{ text }},
        installed_at {{ stamp }}
    )
{%- endmacro %}

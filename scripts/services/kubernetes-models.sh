# Schema checks of the custom resources the topology renders (PodMonitor, PrometheusRule;
# cert-manager's Issuer and Certificate), which kubernetes-validate does not know: the npm
# @kubernetes-models packages, generated from the upstream CRDs, through
# scripts/services/lib/validate_crd.mjs.
# Exports THINLEDGER_TEST_CRD_VALIDATE (a command taking JSON files). Sourced by scripts/test.sh.
# shellcheck source=scripts/services/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

_tl_kubernetes_models() {
    local t0 prefix cert_manager harness
    t0="$(tl_now)"
    prefix="$(tl_npm_install @kubernetes-models/prometheus-operator 6.0.0)" || return 1
    cert_manager="$(tl_npm_install @kubernetes-models/cert-manager 6.0.0)" || return 1
    harness="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/validate_crd.mjs"
    THINLEDGER_TEST_CRD_VALIDATE="$THINLEDGER_TEST_DIR/crd-validate"
    # ES modules resolve bare imports from the importing file's folder; a module read from
    # standard input resolves them from the working directory: the prefix.
    # The cert-manager models live in their own prefix: the harness imports them by path.
    printf '#!/bin/sh\ncd %q && CERT_MANAGER_MODELS=%q exec node --input-type=module - "$@" < %q\n' \
        "$prefix" "$cert_manager/node_modules/@kubernetes-models/cert-manager" "$harness" >"$THINLEDGER_TEST_CRD_VALIDATE"
    chmod +x "$THINLEDGER_TEST_CRD_VALIDATE"
    export THINLEDGER_TEST_CRD_VALIDATE
    tl_say "custom resource schemas: @kubernetes-models/prometheus-operator 6.0.0, @kubernetes-models/cert-manager 6.0.0 ($(tl_elapsed "$t0")s)"
}
_tl_kubernetes_models

# Peers at their best: pick the OpenBLAS core every peer of `make bench` runs with.
# Sourced by bench/run.sh and bench/train.sh (POSIX sh), never by tests or CI.
#
#   . bench/openblas_core.sh
#   openblas_pick_core BUILD_DIR    -> sets OB_CORE and PEER_ENV, prints what it did
#
# OpenBLAS built with DYNAMIC_ARCH (Debian's) picks its kernels from the CPU model
# when it loads, and a release older than the CPU can fall back to an old core (0.3.21
# picks Prescott, SSE3, on some CPUs newer than it); OPENBLAS_CORETYPE in the
# environment overrides the choice, and a machine may set it (or OPENBLAS_L2_SIZE)
# to something slow. So: list the cores this CPU can run (AVX-512 BW/DQ/VL ->
# SkylakeX, + BF16 -> Cooperlake, + FP16 -> SapphireRapids; AVX2+FMA -> Haswell,
# Zen) plus OpenBLAS's own choice and the caller's OPENBLAS_CORETYPE; run the probe
# BUILD_DIR/bench/openblas_core (1 thread, sgemm on square 256/512 and the MLP's two
# big shapes, every result checked against chainrule's cr_gemm) once per candidate,
# two rounds; a candidate the library does not know runs another core and is
# reported as not accepted, one that crashes or computes wrong results is rejected;
# keep the core with the smallest time (best of the two rounds).
#
# Result: OB_CORE (the core's name, empty when OpenBLAS is missing) and PEER_ENV,
# the prefix of every peer's command:
#   env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=<OB_CORE>
# Both are exported with the choice as CR_BENCH_OPENBLAS_CORE, so bench/train.sh
# started by bench/run.sh reuses it instead of probing again. Set
# CR_BENCH_OPENBLAS_CORE yourself to force a core (no probing).

openblas_candidates() {
    flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
    has() { for f in "$@"; do case " $flags " in *" $f "*) ;; *) return 1 ;; esac; done; }
    c="default"
    [ -n "${OPENBLAS_CORETYPE:-}" ] && c="$c $OPENBLAS_CORETYPE"
    if has avx512f avx512bw avx512dq avx512vl avx512cd; then
        c="$c SkylakeX"
        has avx512_bf16 && c="$c Cooperlake"
        has avx512_bf16 avx512_fp16 && c="$c SapphireRapids"
    fi
    has avx2 fma && c="$c Haswell Zen"
    echo "$c"
}

openblas_pick_core() {
    _probe=$1/bench/openblas_core
    if [ -n "${CR_BENCH_OPENBLAS_CORE:-}" ]; then
        OB_CORE=$CR_BENCH_OPENBLAS_CORE
        PEER_ENV="env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=$OB_CORE"
        echo "OpenBLAS core for the peers: $OB_CORE (CR_BENCH_OPENBLAS_CORE)"
        export CR_BENCH_OPENBLAS_CORE
        return 0
    fi
    OB_CORE=
    PEER_ENV="env -u OPENBLAS_L2_SIZE"
    if [ ! -x "$_probe" ] || "$_probe" -q 2>/dev/null | grep -q 'core=none'; then
        echo "OpenBLAS core: OpenBLAS not installed (apt-get install libopenblas-dev)"
        return 0
    fi
    _log=$1/bench/openblas_core.log
    : >"$_log"
    _best= _best_s= _i=0 _cands=$(openblas_candidates)
    echo "OpenBLAS core for the peers (1-thread GEMM probe, two rounds, results checked against cr_gemm; $_log):"
    for _round in 1 2; do
        _i=0
        for _c in $_cands; do
            _i=$((_i + 1))
            if [ "$_c" = default ]; then
                _cmd="env -u OPENBLAS_L2_SIZE -u OPENBLAS_CORETYPE"
            else
                _cmd="env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=$_c"
            fi
            echo "== $_cmd (round $_round)" >>"$_log"
            _out=$($_cmd OPENBLAS_NUM_THREADS=1 "$_probe" -q 2>&1)
            _rc=$?
            echo "$_out" >>"$_log"
            _res=$(echo "$_out" | sed -n 's/^RESULT //p' | tail -n 1)
            _core= _ok= _s=
            for _kv in $_res; do
                case $_kv in
                    core=*) _core=${_kv#*=} ;; ok=*) _ok=${_kv#*=} ;; seconds=*) _s=${_kv#*=} ;;
                esac
            done
            # Per candidate: its core and its best time so far (empty: rejected).
            eval "_prev=\${_t$_i:-}"
            if [ $_rc != 0 ] || [ -z "$_core" ]; then
                eval "_w$_i=\"crashed (exit $_rc): rejected\" _t$_i=" && continue
            elif [ "$_ok" != 1 ]; then
                eval "_w$_i=\"runs core $_core, WRONG results: rejected\" _t$_i=" && continue
            fi
            [ $_round = 2 ] && [ -z "$_prev" ] && continue   # rejected in round 1
            if [ -z "$_prev" ] || awk -v a="$_s" -v b="$_prev" 'BEGIN { exit !(a < b) }'; then
                _prev=$_s
            fi
            _lc=$(echo "$_c" | tr 'A-Z' 'a-z') _lcore=$(echo "$_core" | tr 'A-Z' 'a-z')
            _what="runs core $_core"
            [ "$_c" = default ] || [ "$_lc" = "$_lcore" ] ||
                _what="not accepted by this OpenBLAS, $_what"
            eval "_w$_i=\"\$_what\" _t$_i=\$_prev _k$_i=\$_core"
        done
    done
    _i=0
    for _c in $_cands; do
        _i=$((_i + 1))
        eval "_what=\$_w$_i _s=\${_t$_i:-} _core=\${_k$_i:-}"
        if [ -n "$_s" ]; then
            _what="$_what, $(awk -v s="$_s" 'BEGIN { printf "%.2f ms", s * 1e3 }')"
            if [ -z "$_best_s" ] || awk -v a="$_s" -v b="$_best_s" 'BEGIN { exit !(a < b) }'; then
                _best=$_core _best_s=$_s
            fi
        fi
        if [ "$_c" = default ]; then _c="unset (OpenBLAS picks):"; else _c="OPENBLAS_CORETYPE=$_c:"; fi
        printf '  %-40s %s\n' "$_c" "$_what"
    done
    if [ -z "$_best" ]; then
        echo "  no core computed correctly: the peers run with OpenBLAS's own choice"
        return 0
    fi
    OB_CORE=$_best
    PEER_ENV="env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=$OB_CORE"
    CR_BENCH_OPENBLAS_CORE=$OB_CORE
    export CR_BENCH_OPENBLAS_CORE
    echo "  chosen: $OB_CORE (fastest of both rounds; every peer runs with OPENBLAS_CORETYPE=$OB_CORE)"
}

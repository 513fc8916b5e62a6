# bash completion for portsim
_portsim() {
    local cur prev cmd
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    cmd=${COMP_WORDS[1]}
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "run check explain sweep compare kernel list help --help --version" -- "$cur"))
        return
    fi
    case "$prev" in
        -o|--output) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --trace|--pcap) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --pcap-at) COMPREPLY=($(compgen -W "client nat-outside backend" -- "$cur")); return ;;
        --trace-filter) COMPREPLY=($(compgen -W "entity= port= address= conn=" -- "$cur")); compopt -o nospace 2>/dev/null; return ;;
        --set|--vary)
            # kind.name.key from the scenario given earlier on the line
            local file="" w
            for w in "${COMP_WORDS[@]:2}"; do [ -f "$w" ] && file=$w; done
            if [ -n "$file" ]; then
                local keys
                keys=$(portsim list keys 2>/dev/null | awk '/^\[/{kind=$1; gsub(/\[|\]/,"",kind)} /^  [a-z_]+ /{print kind"."$1}')
                local sections
                sections=$(sed -nE 's/^\[([a-z]+)( ([A-Za-z0-9_.-]+))?\].*/\1 \3/p' "$file")
                local opts="" k n key
                while read -r k n; do
                    for key in $(awk -v k="$k" -F. '$1==k{print $2}' <<<"$keys"); do
                        if [ -n "$n" ]; then opts="$opts $k.$n.$key="; else opts="$opts $k.$key="; fi
                    done
                done <<<"$sections"
                COMPREPLY=($(compgen -W "$opts" -- "$cur"))
                compopt -o nospace 2>/dev/null
            fi
            return ;;
    esac
    case "$cmd" in
        list) COMPREPLY=($(compgen -W "keys allocators presets scenarios --markdown" -- "$cur")) ;;
        *) if [[ $cur == -* ]]; then
               COMPREPLY=($(compgen -W "$(portsim "$cmd" --help 2>/dev/null | grep -oE '^  +(-[a-z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+')" -- "$cur"))
           else
               COMPREPLY=($(compgen -f -X '!*.ini' -- "$cur") $(compgen -d -- "$cur"))
           fi ;;
    esac
}
complete -F _portsim portsim

# Tests that run scripts rather than Catch2 cases; included from tests/CMakeLists.txt.
# Exit code 77 means "skipped" (../shared or tshark absent).

# The committed captures in pcaps/ are exactly what tools/gen_pcap.py makes from the seeds in
# tools/regen_pcaps.sh (and pcaps/README.md).
add_test(NAME pcaps_are_reproducible
         COMMAND bash ${CMAKE_SOURCE_DIR}/tools/regen_pcaps.sh --check)
set_tests_properties(pcaps_are_reproducible PROPERTIES TIMEOUT 120)

# conn.log against tshark's TCP/UDP conversations on every capture under ../shared/pcaps.
add_test(NAME conn_matches_tshark_on_shared_captures
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/conn_vs_tshark.py
                 --otsensor ${CMAKE_BINARY_DIR}/otsensor)
set_tests_properties(conn_matches_tshark_on_shared_captures PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 1800)

# The same comparison on the project's own generated captures (fragments, flipped connections, VLAN, IPv6).
file(GLOB ots_project_pcaps CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/pcaps/*.pcap)
add_test(NAME conn_matches_tshark_on_project_captures
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/conn_vs_tshark.py
                 --otsensor ${CMAKE_BINARY_DIR}/otsensor ${ots_project_pcaps})
set_tests_properties(conn_matches_tshark_on_project_captures PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)

# tools/aqat_fleet.py read back by an independent AQAT parser: signatures, chains, each fault, issue 6 verdicts, determinism.
add_test(NAME aqat_fleet_selfcheck COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/aqat_fleet_selfcheck.py)
set_tests_properties(aqat_fleet_selfcheck PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)

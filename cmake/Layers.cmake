# nvmeddp_layer(<target> HEADERS <h...> SOURCES <s...> [DEPS <targets...>])
#
# Makes one layer library. Its headers are reachable as "<dir>/<name>.hpp" only through an include
# directory private to the layer (symlinks under the build tree), which is exported to the layers that
# link it. A layer that does not link a higher layer therefore cannot include its headers: the compiler
# does not find them. Header paths are given relative to the source root.
function(nvmeddp_layer target)
  cmake_parse_arguments(L "" "" "HEADERS;SOURCES;DEPS" ${ARGN})
  set(inc "${CMAKE_BINARY_DIR}/layer-include/${target}")
  foreach(header IN LISTS L_HEADERS)
    get_filename_component(dir "${inc}/${header}" DIRECTORY)
    file(MAKE_DIRECTORY "${dir}")
    file(CREATE_LINK "${CMAKE_SOURCE_DIR}/${header}" "${inc}/${header}" SYMBOLIC)
  endforeach()
  if(L_SOURCES)
    add_library(${target} STATIC ${L_SOURCES})
    target_include_directories(${target} PUBLIC "${inc}")
    target_link_libraries(${target} PUBLIC ${L_DEPS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE "${inc}")
    target_link_libraries(${target} INTERFACE ${L_DEPS})
  endif()
endfunction()

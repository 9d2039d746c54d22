# Cross build for 64-bit ARM Linux (aarch64) that needs nothing but a cross
# compiler and qemu-user: no sysroot image, no CMAKE_FIND_ROOT_PATH.
#
#   cmake -S . -B build-aarch64 -G Ninja -DGMM_BUILD_TESTS=ON \
#         --toolchain libgmm/cmake/toolchains/aarch64-linux-gnu.cmake
#   cmake --build build-aarch64 && ctest --test-dir build-aarch64
#
# Compiler: aarch64-linux-gnu-gcc (Debian/Ubuntu: gcc-aarch64-linux-gnu)
# unless CMAKE_C_COMPILER is given; clang works too
# (-DCMAKE_C_COMPILER=clang: the target triple below is passed to it).
# Emulator: qemu-aarch64-static or qemu-aarch64 (qemu-user-static), found on
# PATH or given as GMM_QEMU_AARCH64; ctest then runs the C tests under it
# (CMAKE_CROSSCOMPILING_EMULATOR). Its -L prefix, where the target's dynamic
# loader and shared libraries live, is asked from the compiler
# (-print-file-name of the loader) or given as GMM_QEMU_LD_PREFIX.
# CMake reads this file once per configure and again for every compile
# probe, so it only sets variables.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(GMM_CROSS_TRIPLE aarch64-linux-gnu)

if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER ${GMM_CROSS_TRIPLE}-gcc)
endif()
set(CMAKE_C_COMPILER_TARGET ${GMM_CROSS_TRIPLE})   # used by clang only
if(NOT CMAKE_CXX_COMPILER)
  find_program(_gmm_cross_cxx ${GMM_CROSS_TRIPLE}-g++)
  if(_gmm_cross_cxx)
    set(CMAKE_CXX_COMPILER ${_gmm_cross_cxx})
  endif()
endif()
set(CMAKE_CXX_COMPILER_TARGET ${GMM_CROSS_TRIPLE})

# The emulator for ctest and for anything CMake itself would run.
if(NOT GMM_QEMU_AARCH64)
  find_program(GMM_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64
    DOC "qemu-user for aarch64 (runs the C tests)")
endif()
if(NOT GMM_QEMU_LD_PREFIX)
  # The compiler knows where the target's loader is; its directory's parent
  # is the prefix qemu must look in (/usr/aarch64-linux-gnu on Debian).
  set(_gmm_cc_args "")
  if(CMAKE_C_COMPILER MATCHES "clang")
    set(_gmm_cc_args --target=${GMM_CROSS_TRIPLE})
  endif()
  execute_process(
    COMMAND ${CMAKE_C_COMPILER} ${_gmm_cc_args} -print-file-name=ld-linux-aarch64.so.1
    OUTPUT_VARIABLE _gmm_loader OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _gmm_rc ERROR_QUIET)
  if(_gmm_rc EQUAL 0 AND IS_ABSOLUTE "${_gmm_loader}" AND EXISTS "${_gmm_loader}")
    get_filename_component(_gmm_loader "${_gmm_loader}" REALPATH)
    get_filename_component(_gmm_libdir "${_gmm_loader}" DIRECTORY)
    get_filename_component(_gmm_prefix "${_gmm_libdir}" DIRECTORY)
    set(GMM_QEMU_LD_PREFIX "${_gmm_prefix}" CACHE PATH
      "Where qemu finds the target's /lib (its -L option)")
  elseif(EXISTS /usr/${GMM_CROSS_TRIPLE}/lib)
    set(GMM_QEMU_LD_PREFIX /usr/${GMM_CROSS_TRIPLE} CACHE PATH
      "Where qemu finds the target's /lib (its -L option)")
  endif()
endif()
if(GMM_QEMU_AARCH64)
  if(GMM_QEMU_LD_PREFIX)
    set(CMAKE_CROSSCOMPILING_EMULATOR "${GMM_QEMU_AARCH64};-L;${GMM_QEMU_LD_PREFIX}")
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR "${GMM_QEMU_AARCH64}")
  endif()
endif()

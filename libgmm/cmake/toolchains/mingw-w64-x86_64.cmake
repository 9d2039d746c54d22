# Windows (x86-64) DLL from Linux with mingw-w64, and its C tests under wine.
#
#   cmake -S . -B build-mingw -G Ninja -DGMM_BUILD_TESTS=ON \
#         --toolchain libgmm/cmake/toolchains/mingw-w64-x86_64.cmake
#   cmake --build build-mingw && ctest --test-dir build-mingw
#
# Compiler: x86_64-w64-mingw32-gcc (Debian/Ubuntu: gcc-mingw-w64-x86-64; the
# win32 threading flavour is enough: libgmm uses Win32 threads, not
# winpthreads) unless CMAKE_C_COMPILER is given. The DLL is libgmm-<ABI>.dll
# with its import library libgmm.dll.a (link with -lgmm).
# Emulator: wine (Debian: wine wine64), found on PATH or given as GMM_WINE;
# ctest then runs the test programs under it (CMAKE_CROSSCOMPILING_EMULATOR).
# WINEPREFIX defaults to ~/.wine: set it to keep tests apart.
# CMake reads this file once per configure and again for every compile
# probe, so it only sets variables.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR AMD64)
set(GMM_CROSS_TRIPLE x86_64-w64-mingw32)

if(NOT CMAKE_C_COMPILER)
  set(CMAKE_C_COMPILER ${GMM_CROSS_TRIPLE}-gcc)
endif()
if(NOT CMAKE_CXX_COMPILER)
  find_program(_gmm_mingw_cxx ${GMM_CROSS_TRIPLE}-g++)
  if(_gmm_mingw_cxx)
    set(CMAKE_CXX_COMPILER ${_gmm_mingw_cxx})
  endif()
endif()
if(NOT CMAKE_RC_COMPILER)
  find_program(_gmm_mingw_rc ${GMM_CROSS_TRIPLE}-windres)
  if(_gmm_mingw_rc)
    set(CMAKE_RC_COMPILER ${_gmm_mingw_rc})
  endif()
endif()

# Headers and libraries of the target only (never the host's /usr).
set(CMAKE_FIND_ROOT_PATH /usr/${GMM_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

if(NOT GMM_WINE)
  find_program(GMM_WINE NAMES wine64 wine DOC "wine (runs the C tests)")
endif()
if(GMM_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${GMM_WINE}")
endif()

# The Debian package (scripts/package builds it): numsequence-server and numsequence-client,
# their man pages, the systemd unit and its defaults file, the copyright and changelog.
# Nothing else the build makes goes in: the package is the install components "runtime"
# (apps/CMakeLists.txt) and "deb" (below), not a full install, which would add the library,
# its headers and CMake files.
set(NUMSEQUENCE_PACKAGE_MAINTAINER "numsequence maintainers <maintainers@numsequence.invalid>"
    CACHE STRING "Maintainer field of the Debian package")

set(packaging_dir ${PROJECT_SOURCE_DIR}/packaging)

# The Debian-only files, left out of a plain `cmake --install` (EXCLUDE_FROM_ALL): a build
# installed into /usr/local must not write to /etc or /lib/systemd.
install(FILES ${packaging_dir}/numsequence-server.service DESTINATION /lib/systemd/system
        COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${packaging_dir}/numsequence-server.default DESTINATION /etc/default
        RENAME numsequence-server COMPONENT deb EXCLUDE_FROM_ALL)
# A native package (no Debian revision): its changelog is changelog.gz, compressed with no
# timestamp (gzip -n) so the package is reproducible.
set(packaging_changelog ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz)
add_custom_command(OUTPUT ${packaging_changelog}
  COMMAND gzip -9nc ${packaging_dir}/changelog > ${packaging_changelog}
  DEPENDS ${packaging_dir}/changelog
  VERBATIM)
add_custom_target(numsequence-changelog ALL DEPENDS ${packaging_changelog})
install(FILES ${packaging_dir}/copyright ${packaging_changelog}
        DESTINATION share/doc/numsequence COMPONENT deb EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME numsequence)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "The numsequence authors")
set(CPACK_PACKAGE_CONTACT "${NUMSEQUENCE_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "resumable number-sequence protocol server and client")
set(CPACK_PACKAGE_DESCRIPTION
    "numsequence-server serves a plain-text TCP protocol, optionally in TLS,\n"
    "in which a client opens a session and receives up to 65535 numbers in\n"
    "batches. A dropped connection is resumed where it stopped, and the client\n"
    "checks an MD5 checksum of the whole sequence against the server's.\n"
    "Sessions live in the server's memory or in a Redis shared by several\n"
    "servers.\n"
    "\n"
    "numsequence-client runs a session to its end and reports the outcome.\n"
    "The package includes a systemd unit, numsequence-server.service.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")

# One package from the two components; DESTDIR so that the absolute destinations (/etc,
# /lib/systemd) land in the package's tree, never in the building machine's.
set(CPACK_INSTALL_CMAKE_PROJECTS
    "${CMAKE_BINARY_DIR};numsequence;runtime;/" "${CMAKE_BINARY_DIR};numsequence;deb;/")
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${NUMSEQUENCE_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from the libraries the binaries link (dpkg-shlibdeps): libssl3, libhiredis0.14,
# libstdc++6, libgcc-s1, libc6.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${packaging_dir}/conffiles ${packaging_dir}/postinst ${packaging_dir}/prerm
    ${packaging_dir}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)

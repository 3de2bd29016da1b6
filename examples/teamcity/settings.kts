// TeamCity (Kotlin DSL): mint an App Store Connect API token for later build steps.
//
// xctoken prints `##teamcity[setParameter name='env.APP_STORE_CONNECT_TOKEN' value='...']`
// (escaped the TeamCity way), so every later step of the build gets the variable.
// TeamCity masks password parameters (below: the key), but does not document
// masking a value set at run time: later steps must never print the token.
import jetbrains.buildServer.configs.kotlin.*
import jetbrains.buildServer.configs.kotlin.buildSteps.script

version = "2024.03"

project {
    buildType(Release)
}

object Release : BuildType({
    name = "Release"
    params {
        param("env.ASC_KEY_ID", "2X9R4HXF34")
        param("env.ASC_ISSUER_ID", "57246542-96fe-1a63-e053-0824d011072a")
        // The .p8 content, stored as a password (credentialsJSON:... token in VCS settings).
        password("env.ASC_PRIVATE_KEY", "credentialsJSON:00000000-0000-0000-0000-000000000000")
    }
    steps {
        script {
            name = "App Store Connect token"
            scriptContent = "xctoken generate --export APP_STORE_CONNECT_TOKEN --lifetime 20m"
            // Linux agents with Docker can use the image instead of an installed CLI:
            // dockerImage = "ghcr.io/xctoken/xctoken-action:1.0.0"
        }
        script {
            name = "Use the token"
            scriptContent = """
                # The header goes in on stdin (-H @-), so the token is never in curl's argv (ps shows argv).
                printf 'Authorization: Bearer %s\n' "${'$'}APP_STORE_CONNECT_TOKEN" | curl --fail --silent --show-error -H @- \
                  https://api.appstoreconnect.apple.com/v1/apps > apps.json
            """.trimIndent()
        }
    }
})
